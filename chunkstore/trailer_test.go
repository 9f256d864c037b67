package chunkstore

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/snapshot"
)

// TestCheckTrailer: a pack rewritten with a table that records a chunk
// differently, stored under its new name with the index following it, so
// that every object still matches its name: the quick check passes, a
// check that reads the chunks finds the disagreement.
func TestCheckTrailer(t *testing.T) {
	f := newFixture(t, false)
	ctx := t.Context()
	lists := f.backupPacked("s1", map[string][]byte{"db": randomBytes(5, 2<<20)}, 16<<20)
	packs, _ := keysOf(t, f.store, PackPrefix)
	if len(packs) != 1 {
		t.Fatalf("packs: %v", packs)
	}
	old := readAll(t, f, packs[0])
	own, err := ReadPackTrailer(old)
	if err != nil {
		t.Fatal(err)
	}
	var area int64
	for _, e := range own {
		area = max(area, e.Offset+int64(e.StoredSize))
	}
	own[0].RawSize++
	forged, err := appendTrailer(bytes.Clone(old[:area]), own)
	if err != nil {
		t.Fatal(err)
	}
	key := PackKey(sha256.Sum256(forged))
	if err := f.store.Put(ctx, key, bytes.NewReader(forged)); err != nil {
		t.Fatal(err)
	}
	ix, err := LoadIndex(ctx, f.store, true)
	if err != nil {
		t.Fatal(err)
	}
	entries := ix.Entries()
	for i := range entries {
		entries[i].Pack, entries[i].PackSize = key, int64(len(forged))
	}
	if _, err := writeIndexObject(ctx, f.store, entries); err != nil {
		t.Fatal(err)
	}
	for _, k := range append(ix.Objects(), packs[0]) {
		if err := f.store.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := Open(ctx, f.store, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	ix, err = LoadIndex(ctx, f.store, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CheckPart(ctx, bytes.NewReader(lists["db"]), ix, CheckOptions{Level: CheckExists, RawSize: 2 << 20}); err != nil {
		t.Fatalf("quick check: %v", err)
	}
	_, err = cs.CheckPart(ctx, bytes.NewReader(lists["db"]), ix, CheckOptions{Level: CheckStored, RawSize: 2 << 20})
	if !errors.Is(err, snapshot.ErrCorrupt) || !strings.Contains(err.Error(), "its own table records chunk") {
		t.Fatalf("stored check of a pack whose table disagrees with the index: %v", err)
	}
}

func readAll(t *testing.T, f *fixture, key string) []byte {
	t.Helper()
	rc, err := f.store.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
