package chunkstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
)

// Fuzz targets for every decoder of bytes that come from the bucket (chunk
// lists, index objects, pack trailers, repo.json) or from the state
// directory (parent caches). Seeds in testdata/fuzz come from the real
// encoders (TestWriteFuzzSeeds).

// FuzzReadChunkList: any input is refused or yields slices within the
// largest chunk, which write back and read again as the same stream.
func FuzzReadChunkList(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var refs []Ref
		if err := ReadChunkList(bytes.NewReader(data), func(r Ref) error {
			if r.Length == 0 || uint64(r.Offset)+uint64(r.Length) > MaxChunkSize {
				t.Fatalf("accepted slice %d+%d", r.Offset, r.Length)
			}
			refs = append(refs, r)
			return nil
		}); err != nil {
			return
		}
		var again bytes.Buffer
		if err := WriteChunkList(&again, refs); err != nil {
			t.Fatal(err)
		}
		var back []Ref
		if err := ReadChunkList(&again, func(r Ref) error { back = append(back, r); return nil }); err != nil {
			t.Fatalf("a written chunk list does not read back: %v", err)
		}
		if !reflect.DeepEqual(mergeRefs(refs), back) {
			t.Fatalf("round trip: %v, want %v", back, mergeRefs(refs))
		}
	})
}

// mergeRefs joins consecutive slices of one chunk, as WriteChunkList does.
func mergeRefs(refs []Ref) []Ref {
	var out []Ref
	for _, r := range refs {
		if n := len(out); n > 0 && out[n-1].ID == r.ID && out[n-1].Offset+out[n-1].Length == r.Offset {
			out[n-1].Length += r.Length
			continue
		}
		out = append(out, r)
	}
	return out
}

// FuzzReadIndex: any input is refused or yields entries that lie within
// their packs, name valid pack keys, and survive a round trip.
func FuzzReadIndex(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var entries []IndexEntry
		if err := ReadIndex(bytes.NewReader(data), func(e IndexEntry) error {
			checkEntry(t, e, true)
			entries = append(entries, e)
			return nil
		}); err != nil {
			return
		}
		var again bytes.Buffer
		if err := WriteIndex(&again, entries); err != nil {
			t.Fatal(err)
		}
		var back []IndexEntry
		if err := ReadIndex(&again, func(e IndexEntry) error { back = append(back, e); return nil }); err != nil {
			t.Fatalf("a written index does not read back: %v", err)
		}
		if !reflect.DeepEqual(entries, back) {
			t.Fatalf("round trip: %+v, want %+v", back, entries)
		}
	})
}

func checkEntry(t *testing.T, e IndexEntry, inPack bool) {
	t.Helper()
	switch {
	case e.StoredSize == 0 || e.StoredSize > 2*MaxChunkSize || e.RawSize > MaxChunkSize:
		t.Fatalf("accepted sizes %d stored, %d raw", e.StoredSize, e.RawSize)
	case e.Offset < 0 || inPack && (!ValidPackKey(e.Pack) || e.Offset+int64(e.StoredSize) > e.PackSize):
		t.Fatalf("accepted a chunk outside its pack: %+v", e.Location)
	}
}

// FuzzReadPackTrailer: any pack is refused or yields a table whose chunks
// all lie in the pack's chunk area.
func FuzzReadPackTrailer(f *testing.F) {
	f.Fuzz(func(t *testing.T, pack []byte) {
		entries, err := ReadPackTrailer(pack)
		if err != nil {
			return
		}
		for _, e := range entries {
			checkEntry(t, e, false)
			if e.Pack != "" || e.Offset+int64(e.StoredSize) > int64(len(pack))-16 {
				t.Fatalf("accepted a chunk beyond the chunk area: %+v", e.Location)
			}
		}
	})
}

// FuzzParentCache: a damaged cache in the state directory is no cache or a
// shorter one, never a crash; every entry it yields writes back and reads
// again unchanged, and a lookup never goes backwards.
func FuzzParentCache(f *testing.F) {
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.cache")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		r := openCache(path)
		if r == nil {
			return
		}
		var entries []cacheEntry
		for r.next != nil {
			e := *r.next
			for _, ref := range e.Refs {
				if uint64(ref.Offset)+uint64(ref.Length) > MaxChunkSize {
					t.Fatalf("accepted slice %d+%d", ref.Offset, ref.Length)
				}
			}
			entries = append(entries, e)
			r.advance()
		}
		r.close()
		w, err := createCache(filepath.Join(dir, "again.cache"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if err := w.add(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := errors.Join(w.finish(), w.commit()); err != nil {
			t.Fatal(err)
		}
		back := openCache(filepath.Join(dir, "again.cache"))
		defer back.close()
		for i, e := range entries {
			// Looked up in the cache's own order, every entry is found,
			// whatever that order is: a lookup skips only smaller paths.
			got, ok := back.lookup(e.Path)
			if !ok || !reflect.DeepEqual(*got, e) {
				t.Fatalf("entry %d (%q) does not read back: %+v", i, e.Path, got)
			}
		}
	})
}

// configStore serves one repo.json; readConfig needs nothing else.
type configStore struct {
	storage.Store
	data []byte
}

func (s configStore) Get(_ context.Context, key string) (io.ReadCloser, error) {
	if key != ConfigKey {
		return nil, storage.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(s.data)), nil
}

func (configStore) String() string { return "fuzz" }

// FuzzReadConfig: a repo.json is refused as corrupt (or as too new) or
// yields an id that is safe as a directory name under state_dir and a key
// that matches its check.
func FuzzReadConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := readConfig(context.Background(), configStore{data: data})
		if err != nil {
			if !errors.Is(err, snapshot.ErrCorrupt) && !strings.Contains(err.Error(), "upgrade zuulstate") {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		if _, err := hex.DecodeString(cfg.ID); err != nil || len(cfg.ID) != 16 || strings.ToLower(cfg.ID) != cfg.ID {
			t.Fatalf("accepted repository id %q: it names a directory of the state dir", cfg.ID)
		}
		if cfg.Key != "" {
			key, _ := hex.DecodeString(cfg.Key)
			if keyCheck(key) != cfg.KeyCheck {
				t.Fatal("accepted a key that fails its check")
			}
		}
		again, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		back, err := readConfig(context.Background(), configStore{data: again})
		if err != nil || !reflect.DeepEqual(back, cfg) {
			t.Fatalf("round trip: %+v, %v", back, err)
		}
	})
}
