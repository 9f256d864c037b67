package chunkstore

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/dirtar"
)

// TestArchiveOrder: archiveLess sorts paths exactly as dirtar writes them,
// including names that sort before "/" ("a-b", "a.b") next to a directory
// "a" with children.
func TestArchiveOrder(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"a/x", "a/y/z", "a-b", "a.b", "a0", "b/c", "A", "a/y-1", "~"} {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := dirtar.Write(context.Background(), &buf, root, dirtar.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	var written []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(h.Name, "/")
		if name == "." {
			name = ""
		}
		written = append(written, name)
	}
	sorted := slices.Clone(written)
	slices.Reverse(sorted)
	slices.SortFunc(sorted, func(a, b string) int {
		switch {
		case archiveLess(a, b):
			return -1
		case archiveLess(b, a):
			return 1
		}
		return 0
	})
	if !slices.Equal(sorted, written) {
		t.Errorf("archive order %q, archiveLess sorts %q", written, sorted)
	}
}

// TestCacheRoundTrip writes entries and looks them up in archive order,
// skipping paths that are gone.
func TestCacheRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p", "part.cache")
	w, err := createCache(path)
	if err != nil {
		t.Fatal(err)
	}
	id := ID{1, 2, 3}
	entries := []cacheEntry{
		{Record: dirtar.Record{Path: ""}, Refs: []Ref{{ID: id, Length: 512}}},
		{Record: dirtar.Record{Path: "a", Size: 2048, Stamp: dirtar.FileStamp{Size: 1000, MtimeNsec: -5, CtimeNsec: 7, Inode: 9, Mode: 0o100644}}, Refs: []Ref{{ID: id, Offset: 512, Length: 2048}}},
		{Record: dirtar.Record{Path: "a/b"}, Refs: []Ref{{ID: id, Offset: 2560, Length: 512}, {ID: ID{4}, Length: 1}}},
		{Record: dirtar.Record{Path: "c"}},
	}
	for _, e := range entries {
		if err := w.add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	if r := openCache(path); r != nil {
		t.Fatal("the new cache is visible before commit")
	}
	if err := w.commit(); err != nil {
		t.Fatal(err)
	}
	r := openCache(path)
	defer r.close()
	if e, ok := r.lookup(""); !ok || e.Refs[0].Length != 512 {
		t.Fatalf("root: %+v %v", e, ok)
	}
	if e, ok := r.lookup("a/b"); !ok || len(e.Refs) != 2 || e.Refs[1].ID != (ID{4}) {
		t.Fatalf("a/b: %+v %v", e, ok)
	}
	if _, ok := r.lookup("a/c"); ok {
		t.Fatal("found a/c")
	}
	if e, ok := r.lookup("c"); !ok || e.Path != "c" {
		t.Fatalf("c: %+v %v", e, ok)
	}
	if _, ok := r.lookup("d"); ok {
		t.Fatal("found d past the end")
	}
}
