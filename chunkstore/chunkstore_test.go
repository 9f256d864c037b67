package chunkstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/zuulstate/zuulstate/dirtar"
	"github.com/zuulstate/zuulstate/storage"
	"github.com/zuulstate/zuulstate/storage/local"
)

type fixture struct {
	t     *testing.T
	store storage.Store
	opts  Options
}

func newFixture(t *testing.T, encrypted bool) *fixture {
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: st, opts: Options{StateDir: t.TempDir()}}
	if encrypted {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		f.opts.Recipients = []age.Recipient{id.Recipient()}
		f.opts.RecipientNames = []string{id.Recipient().String()}
		f.opts.Identities = []age.Identity{id}
	}
	return f
}

// backup writes one snapshot with one part per producer and returns each
// part's chunk list and stats.
func (f *fixture) backup(snapshotID string, parts map[string]func(io.Writer) error, po PartOptions) (map[string][]byte, map[string]PartStats) {
	f.t.Helper()
	ctx := context.Background()
	cs, err := OpenForBackup(ctx, f.store, f.opts)
	if err != nil {
		f.t.Fatal(err)
	}
	s, err := cs.Begin(ctx, snapshotID, SessionOptions{PackSize: 4 << 20})
	if err != nil {
		f.t.Fatal(err)
	}
	lists, stats := map[string][]byte{}, map[string]PartStats{}
	for name, produce := range parts {
		var list bytes.Buffer
		o := po
		o.Source, o.Name = "test", name
		pw, err := s.NewPart(ctx, &list, o)
		if err != nil {
			f.t.Fatal(err)
		}
		if err := produce(pw); err != nil {
			f.t.Fatalf("part %s: %v", name, err)
		}
		st, err := pw.Close()
		if err != nil {
			f.t.Fatalf("close part %s: %v", name, err)
		}
		lists[name], stats[name] = list.Bytes(), st
	}
	if err := s.Finish(ctx); err != nil {
		f.t.Fatal(err)
	}
	if err := s.Commit(); err != nil {
		f.t.Fatal(err)
	}
	return lists, stats
}

func (f *fixture) read(list []byte) []byte {
	f.t.Helper()
	ctx := context.Background()
	cs, err := Open(ctx, f.store, f.opts)
	if err != nil {
		f.t.Fatal(err)
	}
	ix, err := LoadIndex(ctx, f.store, true)
	if err != nil {
		f.t.Fatal(err)
	}
	r := cs.OpenPart(ctx, bytes.NewReader(list), ix, f.opts.RecipientNames)
	defer r.Close()
	out, err := io.ReadAll(r)
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func randomish(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	words := []string{"ok: ", "changed: ", "TASK [", "zuul", " => ", "\n", "2026-12-04 ", "error"}
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		fmt.Fprintf(&b, "%d", r.Uint32()%1000)
	}
	return b.Bytes()[:n]
}

func TestStreamRoundTripAndDedup(t *testing.T) {
	for _, enc := range []bool{false, true} {
		t.Run(fmt.Sprint("encrypted=", enc), func(t *testing.T) {
			f := newFixture(t, enc)
			data := randomish(1, 20<<20)
			produce := func(data []byte) func(io.Writer) error {
				return func(w io.Writer) error {
					for p := data; len(p) > 0; {
						n := min(len(p), 100_000)
						if _, err := w.Write(p[:n]); err != nil {
							return err
						}
						p = p[n:]
					}
					return nil
				}
			}
			lists, stats := f.backup("s1", map[string]func(io.Writer) error{"db": produce(data), "empty": produce(nil)}, PartOptions{})
			if got := f.read(lists["db"]); !bytes.Equal(got, data) {
				t.Fatalf("round trip differs: %d bytes, want %d", len(got), len(data))
			}
			if got := f.read(lists["empty"]); len(got) != 0 {
				t.Fatalf("empty part read back %d bytes", len(got))
			}
			if stats["db"].NewChunks < 5 || stats["db"].RawSize != int64(len(data)) {
				t.Fatalf("stats %+v", stats["db"])
			}
			// 1% appended: only the last chunks are new.
			more := append(bytes.Clone(data), randomish(2, 200<<10)...)
			lists2, stats2 := f.backup("s2", map[string]func(io.Writer) error{"db": produce(more)}, PartOptions{})
			if got := f.read(lists2["db"]); !bytes.Equal(got, more) {
				t.Fatal("second round trip differs")
			}
			if n := stats2["db"].NewChunks; n > 2 {
				t.Errorf("appending 1%% stored %d new chunks (of %d refs), want at most 2", n, stats2["db"].Refs)
			}
		})
	}
}

func writeTree(t *testing.T, root string, files map[string][]byte) {
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTarReuse: the second backup of a tree reuses unchanged files from the
// parent cache without reading them, and both archives read back exactly
// as dirtar writes the tree.
func TestTarReuse(t *testing.T) {
	f := newFixture(t, true)
	root := t.TempDir()
	files := map[string][]byte{}
	for i := range 300 {
		files[fmt.Sprintf("build-%03d/job-output.txt", i)] = randomish(uint64(i), 2000+i*37)
		files[fmt.Sprintf("build-%03d/zuul-info/inventory.yaml", i)] = randomish(uint64(1000+i), 300)
	}
	files["big/disk.img"] = randomish(7, 5<<20)
	writeTree(t, root, files)
	tarOf := func(w io.Writer) error {
		_, err := dirtar.Write(context.Background(), w, root, dirtar.WriteOptions{})
		return err
	}
	want := func() []byte {
		var b bytes.Buffer
		if err := tarOf(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	po := PartOptions{Parent: true}
	lists, stats := f.backup("s1", map[string]func(io.Writer) error{"logs": tarOf}, po)
	if got := f.read(lists["logs"]); !bytes.Equal(got, want()) {
		t.Fatal("first archive differs")
	}
	if stats["logs"].ReusedRecords != 0 {
		t.Fatalf("first backup reused %d records", stats["logs"].ReusedRecords)
	}
	// A night: 5 new builds, 5 removed, one file changed in place.
	for i := range 5 {
		os.RemoveAll(filepath.Join(root, fmt.Sprintf("build-%03d", i*50)))
		writeTree(t, root, map[string][]byte{fmt.Sprintf("build-%03d-new/job-output.txt", i*50): randomish(uint64(5000+i), 4000)})
	}
	time.Sleep(10 * time.Millisecond)
	writeTree(t, root, map[string][]byte{"build-101/job-output.txt": []byte("rewritten\n")})
	lists2, stats2 := f.backup("s2", map[string]func(io.Writer) error{"logs": tarOf}, po)
	if got := f.read(lists2["logs"]); !bytes.Equal(got, want()) {
		t.Fatal("second archive differs")
	}
	s := stats2["logs"]
	if s.ReusedRecords < 500 || s.NewBytes > stats["logs"].NewBytes/10 {
		t.Errorf("second backup reused %d records and stored %d new bytes (first stored %d)", s.ReusedRecords, s.NewBytes, stats["logs"].NewBytes)
	}
	t.Logf("night 1: %+v", stats["logs"])
	t.Logf("night 2: %+v", s)
	// ForceRead reads everything again but stores nothing new.
	lists3, stats3 := f.backup("s3", map[string]func(io.Writer) error{"logs": tarOf}, PartOptions{Parent: true, ForceRead: true})
	if stats3["logs"].ReusedRecords != 0 || !bytes.Equal(f.read(lists3["logs"]), want()) {
		t.Errorf("force read: %+v", stats3["logs"])
	}
	t.Logf("force read: %+v", stats3["logs"])
}

func TestChunkListParse(t *testing.T) {
	id := ID(sha256.Sum256([]byte("x")))
	var b bytes.Buffer
	refs := []Ref{{ID: id, Offset: 0, Length: 10}, {ID: id, Offset: 10, Length: 5}, {ID: id, Offset: 20, Length: 1}}
	if err := WriteChunkList(&b, refs); err != nil {
		t.Fatal(err)
	}
	var got []Ref
	if err := ReadChunkList(&b, func(r Ref) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []Ref{{ID: id, Offset: 0, Length: 15}, {ID: id, Offset: 20, Length: 1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v (contiguous slices merged)", got, want)
	}
	for _, bad := range []string{"", "zuulstate chunk list v1\nxyz 0 1\n", "zuulstate chunk list v1\n" + id.String() + " 0 0\n", "zuulstate chunk list v1\n" + id.String() + " 01 1\n", "zuulstate chunk list v1\n" + id.String() + "  0 1\n"} {
		if err := ReadChunkList(bytes.NewReader([]byte(bad)), func(Ref) error { return nil }); err == nil {
			t.Errorf("ReadChunkList(%q) accepted", bad)
		}
	}
}
