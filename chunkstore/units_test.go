package chunkstore

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/sqlstream"
)

// sqlDump writes statements through sqlstream.Writer, as the mariadb dump
// does, so the part writer is told where each one ends.
func sqlDump(stmts []string) func(io.Writer) error {
	return func(w io.Writer) error {
		sw := sqlstream.NewWriter(countingWrap{w}, "test dump")
		for _, s := range stmts {
			if err := sw.Statement(s); err != nil {
				return err
			}
		}
		return sw.Close()
	}
}

// countingWrap hides the part writer behind a wrapper, as the backup's
// progress counter does.
type countingWrap struct{ w io.Writer }

func (c countingWrap) Write(p []byte) (int, error) { return c.w.Write(p) }
func (c countingWrap) Unwrap() io.Writer           { return c.w }

func statements(seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, 2))
	out := make([]string, n)
	for i := range out {
		size := 40<<10 + r.IntN(400<<10)
		out[i] = fmt.Sprintf("INSERT INTO t VALUES (%d,'%s')", seed*1_000_000+uint64(i), randomish(seed<<20+uint64(i), size))
	}
	return out
}

// TestUnitsCutAtStatementEnds: a SQL stream is cut only where a statement
// ends, reads back whole, and a statement inserted in the middle or
// appended costs only the chunks around it.
func TestUnitsCutAtStatementEnds(t *testing.T) {
	f := newFixture(t, true)
	stmts := statements(1, 120)
	lists, stats := f.backup("s1", map[string]func(io.Writer) error{"db": sqlDump(stmts)}, PartOptions{})
	want := dumpText(t, stmts)
	if got := f.read(lists["db"]); !bytes.Equal(got, want) {
		t.Fatalf("round trip differs: %d bytes, want %d", len(got), len(want))
	}
	if n := stats["db"].NewChunks; n < 10 || n > 60 {
		t.Fatalf("%d chunks for %d MiB, want about one per MiB", n, len(want)>>20)
	}
	ends := map[int]bool{}
	for i := range want {
		if want[i] == '\n' {
			ends[i+1] = true
		}
	}
	pos := 0
	for _, l := range strings.Split(strings.TrimSpace(string(lists["db"])), "\n")[1:] {
		var id string
		var o, n int
		if _, err := fmt.Sscan(l, &id, &o, &n); err != nil {
			t.Fatalf("chunk list line %q: %v", l, err)
		}
		pos += n
		if pos != len(want) && !ends[pos] {
			t.Fatalf("a chunk ends at byte %d, inside a line", pos)
		}
	}

	changed := append(append(append([]string{}, stmts[:60]...), statements(2, 1)...), stmts[60:]...)
	changed = append(changed, statements(3, 2)...)
	lists2, stats2 := f.backup("s2", map[string]func(io.Writer) error{"db": sqlDump(changed)}, PartOptions{})
	if got := f.read(lists2["db"]); !bytes.Equal(got, dumpText(t, changed)) {
		t.Fatal("second round trip differs")
	}
	if n := stats2["db"].NewChunks; n > 6 {
		t.Errorf("one statement inserted and two appended stored %d new chunks of %d, want at most 6", n, stats2["db"].Refs)
	}
}

func dumpText(t *testing.T, stmts []string) []byte {
	var b bytes.Buffer
	bw := bufio.NewWriter(&b)
	if err := sqlDump(stmts)(bw); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
