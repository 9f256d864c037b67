package chunkstore

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/storage"
)

// holdingStore refuses to delete the keys in held, as S3 Object Lock does.
type holdingStore struct {
	storage.Store
	held map[string]bool
}

func (h *holdingStore) Delete(ctx context.Context, key string) error {
	if h.held[key] {
		return fmt.Errorf("delete %s: %w", key, storage.ErrRetained)
	}
	return h.Store.Delete(ctx, key)
}

// retainerStore also says so when asked, as the S3 store does.
type retainerStore struct{ *holdingStore }

func (r retainerStore) RetainedUntil(_ context.Context, key string) (time.Time, error) {
	if r.held[key] {
		return time.Now().Add(time.Hour), nil
	}
	return time.Time{}, nil
}

// indexedPacksExist checks what prune keeps true at every step: each pack
// that an index object names exists, with the size it records.
func indexedPacksExist(t *testing.T, store storage.Store) {
	t.Helper()
	packs := map[string]int64{}
	if err := store.List(t.Context(), PackPrefix, func(oi storage.ObjectInfo) error { packs[oi.Key] = oi.Size; return nil }); err != nil {
		t.Fatal(err)
	}
	objects, _ := keysOf(t, store, IndexPrefix)
	for _, k := range objects {
		entries, err := readIndexObject(t.Context(), store, k)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if size, ok := packs[e.Pack]; !ok || size != e.PackSize {
				t.Fatalf("index %s names chunk %s in pack %s, which is gone or has another size", k, e.ID, e.Pack)
			}
		}
	}
}

// TestPruneObjectLock: an index object that may not be deleted yet keeps
// every pack it names, whether the store says so when asked (S3 with
// Object Lock) or only when the delete fails; a prune after the retention
// ended removes the rest.
func TestPruneObjectLock(t *testing.T) {
	for _, asked := range []bool{true, false} {
		t.Run(fmt.Sprint("asked=", asked), func(t *testing.T) {
			f := newFixture(t, false)
			lists, data := nights(t, f)
			// The first night's index object names its "db" chunks.
			objects, _ := keysOf(t, f.store, IndexPrefix)
			firstNight := liveOf(t, map[string][]byte{"db": lists[0]["db"]})
			var first []string
			for _, k := range objects {
				entries, err := readIndexObject(t.Context(), f.store, k)
				if err != nil {
					t.Fatal(err)
				}
				if slices.ContainsFunc(entries, func(e IndexEntry) bool { return firstNight.has(e.ID) }) {
					first = append(first, k)
				}
			}
			if len(first) != 1 {
				t.Fatalf("want one index object of the first night, got %v", first)
			}
			hs := &holdingStore{Store: f.store, held: map[string]bool{first[0]: true}}
			var store storage.Store = hs
			if asked {
				store = retainerStore{hs}
			}
			live := liveOf(t, lists[2], lists[3])
			st, err := Prune(t.Context(), store, live, PruneOptions{RepackThreshold: 1})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(st.Retained, first[0]) {
				t.Errorf("the retained index object is not reported: %+v", *st)
			}
			if _, err := f.store.Stat(t.Context(), first[0]); err != nil {
				t.Fatalf("the retained index object is gone: %v", err)
			}
			indexedPacksExist(t, f.store)
			for n := 2; n < 4; n++ {
				for name, list := range lists[n] {
					if got, err := readBack(t.Context(), f.store, f.opts, list); err != nil || string(got) != string(data[n][name]) {
						t.Fatalf("night %d part %s: %v", n, name, err)
					}
				}
			}
			t.Logf("under retention: %+v", *st)
			hs.held = nil
			if _, err := Prune(t.Context(), store, live, PruneOptions{RepackThreshold: 1}); err != nil {
				t.Fatal(err)
			}
			again, err := Prune(t.Context(), store, live, PruneOptions{RepackThreshold: 1, DryRun: true})
			if err != nil || again.PacksDeleted() != 0 || again.IndexObjects != 1 || again.DeadEntries != 0 {
				t.Fatalf("after the retention ended: %+v %v", again, err)
			}
		})
	}
}

func (l LiveSet) has(id ID) bool { _, ok := l[id]; return ok }
