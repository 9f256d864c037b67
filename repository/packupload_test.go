package repository

import (
	"context"
	"io"
	"math/rand/v2"
	"testing"
)

// randomPart produces n bytes that do not compress, from seed.
func randomPart(n int, seed uint64) Produce {
	return func(_ context.Context, w io.Writer) (any, error) {
		rng := rand.New(rand.NewPCG(seed, 1))
		buf := make([]byte, 64<<10)
		for n > 0 {
			for i := range buf {
				buf[i] = byte(rng.Uint32())
			}
			k, err := w.Write(buf[:min(n, len(buf))])
			if err != nil {
				return nil, err
			}
			n -= k
		}
		return nil, nil
	}
}

// TestPackUploadOutlivesPart: a pack filled by one part is still being
// uploaded when the part ends; the part's context ending must not cancel
// the upload (it did: every backup with a part larger than a pack failed
// with "context canceled" now and then).
func TestPackUploadOutlivesPart(t *testing.T) {
	repo, _ := newRepo(t, Options{Dedup: true, StateDir: t.TempDir(), PackSize: 256 << 10})
	ctx := t.Context()
	for night := range 3 {
		w := repo.NewWriter(SnapshotInfo{})
		for i := range 4 {
			if _, err := w.WritePart(ctx, "paths", "p"+string(rune('a'+i)), randomPart(600<<10, uint64(night*10+i))); err != nil {
				t.Fatalf("night %d part %d: %v", night, i, err)
			}
		}
		m, err := w.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// A fresh Repository: one loads the index for reading only once.
		if _, err := New(repo.store, repo.opts).Verify(ctx, m, true); err != nil {
			t.Fatal(err)
		}
	}
}
