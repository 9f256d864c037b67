package chunkstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/zuulstate/zuulstate/codec"
	"github.com/zuulstate/zuulstate/dirtar"
	"github.com/zuulstate/zuulstate/storage"
)

// TestWriteFuzzSeeds writes the seed corpora of the fuzz targets from a
// real backup of a small tree and a small stream. Run with
// ZUULSTATE_WRITE_FUZZ_SEEDS=1 after changing a format.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("ZUULSTATE_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set ZUULSTATE_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz")
	}
	ctx := context.Background()
	f := newFixture(t, false)
	root := t.TempDir()
	writeTree(t, root, map[string][]byte{"a.txt": []byte("alpha\n"), "builds/1/log.txt": randomish(1, 3000), "builds/2/log.txt": []byte("fail\n")})
	tarOf := func(w io.Writer) error {
		_, err := dirtar.Write(ctx, w, root, dirtar.WriteOptions{})
		return err
	}
	sql := func(w io.Writer) error {
		_, err := w.Write(randomish(2, 5000))
		return err
	}
	lists, _ := f.backup("s1", map[string]func(io.Writer) error{"logs": tarOf, "db": sql}, PartOptions{Parent: true})
	writeSeed(t, "FuzzReadChunkList", "tar", lists["logs"])
	writeSeed(t, "FuzzReadChunkList", "stream", lists["db"])
	writeSeed(t, "FuzzReadChunkList", "empty", []byte(chunkListMagic+"\n"))

	zc, err := codec.Lookup(codec.Default)
	if err != nil {
		t.Fatal(err)
	}
	for i, key := range keysUnder(t, f.store, IndexPrefix) {
		rc, err := zc.NewStreamReader(bytes.NewReader(getObject(t, f.store, key)))
		if err != nil {
			t.Fatal(err)
		}
		text, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		writeSeed(t, "FuzzReadIndex", fmt.Sprint("index-", i), text)
	}
	for i, key := range keysUnder(t, f.store, PackPrefix) {
		writeSeed(t, "FuzzReadPackTrailer", fmt.Sprint("pack-", i), getObject(t, f.store, key))
	}
	cs, err := Open(ctx, f.store, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	cache, err := os.ReadFile(parentCachePath(f.opts.StateDir, cs.Config().ID, f.opts.RecipientNames, "test", "logs"))
	if err != nil {
		t.Fatal(err)
	}
	writeSeed(t, "FuzzParentCache", "tar", cache)
	writeSeed(t, "FuzzReadConfig", "plain", getObject(t, f.store, ConfigKey))

	enc := newFixture(t, true)
	enc.backup("s1", map[string]func(io.Writer) error{"db": sql}, PartOptions{})
	writeSeed(t, "FuzzReadConfig", "encrypted", getObject(t, enc.store, ConfigKey))
}

func writeSeed(t *testing.T, target, name string, data []byte) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
}

func keysUnder(t *testing.T, store storage.Store, prefix string) []string {
	t.Helper()
	var keys []string
	if err := store.List(context.Background(), prefix, func(oi storage.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	}); err != nil || len(keys) == 0 {
		t.Fatalf("no objects under %s (%v)", prefix, err)
	}
	return keys
}

func getObject(t *testing.T, store storage.Store, key string) []byte {
	t.Helper()
	rc, err := store.Get(context.Background(), key)
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
