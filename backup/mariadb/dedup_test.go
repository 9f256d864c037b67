package mariadb

import (
	"fmt"
	"math/big"
	"slices"
	"testing"
)

// A table that grows by appending keeps its range bounds: the ranges
// below the new rows dump the same bytes as the night before.
func TestAlignedBoundsStayPut(t *testing.T) {
	const chunkRows = 500_000
	prev := alignedBounds(big.NewInt(1), big.NewInt(1_600_000), 1_600_000, chunkRows)
	if len(prev) < 2 || len(prev) > 4 {
		t.Fatalf("1.6M rows in ranges of about 500k: bounds %v", prev)
	}
	for night := 1; night <= 7; night++ {
		rows := int64(1_600_000 + night*16_000)
		got := alignedBounds(big.NewInt(1), big.NewInt(rows), rows, chunkRows)
		if !slices.EqualFunc(prev, got[:len(prev)], func(a, b *big.Int) bool { return a.Cmp(b) == 0 }) {
			t.Fatalf("night %d: bounds %v, were %v", night, got, prev)
		}
		prev = got
	}
	// Negative keys, a sparse table and one too small to split.
	neg := alignedBounds(big.NewInt(-3_000_000), big.NewInt(-1), 3_000_000, chunkRows)
	for i, b := range neg {
		if b.Sign() >= 0 || new(big.Int).Mod(b, big.NewInt(1<<19)).Sign() != 0 || i > 0 && b.Cmp(neg[i-1]) <= 0 {
			t.Fatalf("negative keys: bounds %v", neg)
		}
	}
	if got := alignedBounds(big.NewInt(0), big.NewInt(1<<40), 2_000_000, chunkRows); len(got) > 5 {
		t.Fatalf("sparse keys: %d bounds for 2M rows", len(got))
	}
	if got := alignedBounds(big.NewInt(5), big.NewInt(6), 600_000, chunkRows); len(got) > 1 {
		t.Fatalf("two keys: bounds %v", got)
	}
}

// Statement boundaries chosen by content: a dump that starts some rows
// later (a range that moved, old rows deleted) has the same statements
// as the old one soon after its start.
func TestStatementBreaksResynchronize(t *testing.T) {
	const limit = 1 << 20
	rows := make([][]byte, 60_000)
	for i := range rows {
		rows[i] = fmt.Appendf(nil, "(%d,'%064x','SUCCESS','2026-12-04 12:%02d:%02d')", i, i*7919, i%60, i%59)
	}
	split := func(rows [][]byte) (ends []int, sizes []int) {
		b := newStatementBreaks(limit)
		n := 0
		for i, r := range rows {
			if n > 0 && n+1+len(r) > limit {
				ends, sizes, n = append(ends, i-1), append(sizes, n), 0
			}
			n += len(r) + 1
			if b.after(r, n) {
				ends, sizes, n = append(ends, i), append(sizes, n), 0
			}
		}
		return ends, sizes
	}
	whole, sizes := split(rows)
	var total int
	for _, s := range sizes {
		total += s
	}
	if avg := total / len(sizes); avg < limit/8 || avg > limit/2 {
		t.Errorf("statements average %d bytes, want about %d", avg, limit/4)
	}
	const skip = 1234
	later, _ := split(rows[skip:])
	for i := range later {
		later[i] += skip
	}
	// Past the first boundary the two agree.
	i := slices.Index(whole, later[1])
	if i < 0 || !slices.Equal(whole[i:], later[1:]) {
		t.Fatalf("boundaries do not resynchronize: %v against %v", whole[:5], later[:5])
	}
}
