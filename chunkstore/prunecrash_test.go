package chunkstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/zuulstate/zuulstate/storage"
	"github.com/zuulstate/zuulstate/storage/local"
)

var errDied = errors.New("the process died here")

// dyingStore makes changes (Put, Delete) until its n-th: that one fails,
// after being made when after is set, and so does everything from then
// on, as if the process had been killed at that point.
type dyingStore struct {
	storage.Store
	n     int
	after bool

	mu      sync.Mutex
	changes int
}

func (d *dyingStore) change(do func() error) error {
	d.mu.Lock()
	d.changes++
	c := d.changes
	d.mu.Unlock()
	switch {
	case c < d.n:
		return do()
	case c == d.n && d.after:
		if err := do(); err != nil {
			return err
		}
	}
	return errDied
}

func (d *dyingStore) Put(ctx context.Context, key string, r io.Reader) error {
	return d.change(func() error { return d.Store.Put(ctx, key, r) })
}

func (d *dyingStore) Delete(ctx context.Context, key string) error {
	return d.change(func() error { return d.Store.Delete(ctx, key) })
}

// TestPruneStopsAtEveryStep stops a prune at each of its changes, before
// and after making it. Every time, every chunk of the kept nights still
// reads back through a freshly loaded index; a prune run afterwards
// finishes the job, and a third finds nothing left to do.
func TestPruneStopsAtEveryStep(t *testing.T) {
	f := newFixture(t, true)
	base := t.TempDir()
	f.store = must(local.New(base))
	var lists []map[string][]byte
	var data []map[string][]byte
	static, log := randomBytes(1, 1<<20), []byte(nil)
	for n := range 4 {
		log = append(log, randomBytes(uint64(10+n), 512<<10)...)
		d := map[string][]byte{"db": randomBytes(uint64(20+n), 1<<20), "log": slices.Clone(log), "static": static}
		lists = append(lists, f.backupPacked(string(rune('a'+n)), d, 3<<20))
		data = append(data, d)
	}
	live := liveOf(t, lists[2], lists[3])
	o := PruneOptions{RepackThreshold: 1, PackSize: 1 << 20}
	ctx := t.Context()

	copyRepo := func(t *testing.T) (storage.Store, string) {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
			t.Fatal(err)
		}
		return must(local.New(dir)), dir
	}
	counter := &dyingStore{n: 1 << 30}
	counter.Store, _ = copyRepo(t)
	full, err := Prune(ctx, counter, live, o)
	if err != nil {
		t.Fatal(err)
	}
	total := counter.changes
	if full.RepackedPacks == 0 || total < 6 {
		t.Fatalf("the prune to interrupt is too simple: %d changes, %+v", total, *full)
	}
	t.Logf("an uninterrupted prune makes %d changes: %+v", total, *full)
	check := func(t *testing.T, store storage.Store, when string) {
		t.Helper()
		indexedPacksExist(t, store)
		for n := 2; n < 4; n++ {
			for name, list := range lists[n] {
				got, err := readBack(ctx, store, f.opts, list)
				if err != nil || !bytes.Equal(got, data[n][name]) {
					t.Fatalf("%s: night %d part %s: %v", when, n, name, err)
				}
			}
		}
	}
	for n := 1; n <= total; n++ {
		for _, after := range []bool{false, true} {
			store, _ := copyRepo(t)
			_, err := Prune(ctx, &dyingStore{Store: store, n: n, after: after}, live, o)
			if !errors.Is(err, errDied) {
				t.Fatalf("change %d (after: %v): prune returned %v", n, after, err)
			}
			check(t, store, "after the interrupted prune")
			st, err := Prune(ctx, store, live, o)
			if err != nil {
				t.Fatalf("change %d (after: %v): the next prune: %v", n, after, err)
			}
			check(t, store, "after the next prune")
			again, err := Prune(ctx, store, live, PruneOptions{RepackThreshold: 1, DryRun: true})
			if err != nil || again.PacksDeleted() != 0 || again.IndexWritten != 0 || again.IndexDeleted != 0 || again.DeadEntries != 0 {
				t.Fatalf("change %d (after: %v): left to do after the next prune (%+v): %+v %v", n, after, *st, again, err)
			}
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
