package repository

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/zuulstate/zuulstate/dirtar"
	"github.com/zuulstate/zuulstate/snapshot"
)

func dedupRepo(t *testing.T) (*Repository, string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return newRepo(t, Options{
		Dedup: true, StateDir: t.TempDir(),
		Encode:         snapshot.EncodeOptions{Recipients: []age.Recipient{id.Recipient()}},
		RecipientNames: []string{id.Recipient().String()},
		Identities:     []age.Identity{id},
	})
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.IntN(8)) // compressible, but not trivially
	}
	return b
}

func writeBytes(b []byte) Produce {
	return func(_ context.Context, w io.Writer) (any, error) {
		_, err := w.Write(b)
		return nil, err
	}
}

func readPart(t *testing.T, repo *Repository, p snapshot.Part) []byte {
	t.Helper()
	r, closer, err := repo.OpenPart(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Finish(); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestChunkedSnapshots writes two format 3 snapshots the way backup.Run
// does (each part under a context that ends with the part, as a source's
// does) and reads them back; the second stores only what changed.
func TestChunkedSnapshots(t *testing.T) {
	repo, dir := dedupRepo(t)
	tree := t.TempDir()
	for i := range 50 {
		if err := os.WriteFile(filepath.Join(tree, strings.Repeat("f", 1+i%5)+string(rune('a'+i%26))+".log"), randomBytes(uint64(i), 3000+i*100), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db := randomBytes(99, 24<<20)
	tarOf := func(ctx context.Context, w io.Writer) (any, error) {
		_, err := dirtar.Write(ctx, w, tree, dirtar.WriteOptions{})
		return nil, err
	}
	snap := func(db []byte) *snapshot.Manifest {
		w := repo.NewWriter(SnapshotInfo{Host: "h"})
		for name, produce := range map[string]Produce{"db": writeBytes(db), "tree": tarOf} {
			ctx, cancel := context.WithCancel(t.Context())
			if _, err := w.WritePart(ctx, "src", name, produce); err != nil {
				t.Fatal(err)
			}
			cancel()
		}
		m, err := w.Commit(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if m.Format != 3 {
			t.Fatalf("format %d, want 3", m.Format)
		}
		return m
	}
	m1 := snap(db)
	db2 := append(bytes.Clone(db), randomBytes(100, 60<<10)...)
	m2 := snap(db2)
	for _, c := range []struct {
		m  *snapshot.Manifest
		db []byte
	}{{m1, db}, {m2, db2}} {
		for _, p := range c.m.Parts {
			got := readPart(t, repo, p)
			if p.Name == "db" && !bytes.Equal(got, c.db) {
				t.Fatalf("%s/db differs", c.m.ID)
			}
			if p.Name == "tree" && p.Chunked.ListSize == 0 {
				t.Fatalf("%s/tree has an empty chunk list", c.m.ID)
			}
		}
	}
	// The appended bytes change the last chunk only (up to 4 MiB raw).
	if added := m2.StoredBytes(); added > m1.StoredBytes()/5 {
		t.Errorf("second snapshot added %d bytes, the first %d", added, m1.StoredBytes())
	}
	if _, err := repo.Verify(t.Context(), m2, true); err != nil {
		t.Fatal(err)
	}
	if err := repo.VerifyStored(t.Context(), m2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "repo.json")); err != nil {
		t.Fatal(err)
	}
}

// TestChunkedAbort: a part that fails leaves no pack, index or chunk list
// once the writer aborts.
func TestChunkedAbort(t *testing.T) {
	repo, dir := dedupRepo(t)
	w := repo.NewWriter(SnapshotInfo{Host: "h"})
	if _, err := w.WritePart(t.Context(), "src", "ok", writeBytes(randomBytes(1, 40<<20))); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	_, err := w.WritePart(t.Context(), "src", "bad", func(_ context.Context, w io.Writer) (any, error) {
		w.Write(randomBytes(2, 3<<20))
		return nil, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WritePart error %v, want boom", err)
	}
	if err := w.Abort(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"packs", "index", "parts", "manifests"} {
		var left []string
		filepath.Walk(filepath.Join(dir, prefix), func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				left = append(left, p)
			}
			return nil
		})
		if len(left) > 0 {
			t.Errorf("%s left after abort: %v", prefix, left)
		}
	}
}
