package chunker

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

func cuts(t *testing.T, data, key []byte) []int {
	t.Helper()
	c, err := NewCDC(bytes.NewReader(data), StreamParams, key, make([]byte, BufferSize(StreamParams)))
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	total := 0
	for {
		b, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(b))
		total += len(b)
	}
	if total != len(data) {
		t.Fatalf("chunks add up to %d bytes, want %d", total, len(data))
	}
	return sizes
}

// TestCDC: chunks stay within the bounds, the same key cuts the same
// stream the same way, another key elsewhere, and an insertion changes
// only the chunks around it.
func TestCDC(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 40<<20)
	for i := range data {
		data[i] = byte(r.IntN(256))
	}
	key, other := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	a := cuts(t, data, key)
	for i, n := range a[:len(a)-1] {
		if n < StreamParams.Min || n > StreamParams.Max {
			t.Fatalf("chunk %d is %d bytes, outside [%d, %d]", i, n, StreamParams.Min, StreamParams.Max)
		}
	}
	if avg := len(data) / len(a); avg < StreamParams.Avg/2 || avg > 2*StreamParams.Avg {
		t.Errorf("average chunk %d bytes, want about %d", avg, StreamParams.Avg)
	}
	if b := cuts(t, data, key); !equal(a, b) {
		t.Error("the same key cut the same stream differently")
	}
	if b := cuts(t, data, other); equal(a, b) {
		t.Error("another key cut the stream the same way")
	}
	inserted := append(append(bytes.Clone(data[:20<<20]), []byte("a new build")...), data[20<<20:]...)
	b := cuts(t, inserted, key)
	if shared := sharedSuffix(a, b); shared < len(a)/3 {
		t.Errorf("after an insertion in the middle only %d of %d chunks at the end are the same", shared, len(a))
	}
}

func equal(a, b []int) bool { return bytes.Equal(toBytes(a), toBytes(b)) }

func toBytes(s []int) []byte {
	var out []byte
	for _, n := range s {
		out = append(out, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
	}
	return out
}

func sharedSuffix(a, b []int) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	return n
}

// TestGroupCut: a group ends at Max whatever the hash, never below Min,
// and on average near Avg.
func TestGroupCut(t *testing.T) {
	g := GroupParams
	zero := make([]byte, 8)
	if !g.CutAfter(g.Max, 100, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) {
		t.Error("no cut at Max")
	}
	if g.CutAfter(g.Min-1, 100, zero) {
		t.Error("cut below Min")
	}
	r := rand.New(rand.NewPCG(3, 4))
	groups, size, total := 0, 0, 0
	sum := make([]byte, 8)
	for range 200_000 {
		rec := 512 + r.IntN(40<<10)
		size += rec
		total += rec
		for i := range sum {
			sum[i] = byte(r.IntN(256))
		}
		if g.CutAfter(size, rec, sum) {
			groups++
			size = 0
		}
	}
	if avg := total / groups; avg < g.Avg/2 || avg > 3*g.Avg/2 {
		t.Errorf("average group %d bytes, want about %d", avg, g.Avg)
	}
}
