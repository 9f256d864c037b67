package repository

import (
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/chunkstore"
	"github.com/zuulstate/zuulstate/storage"
)

// TestPruneMixedFormats: one repository with format 2 and format 3
// snapshots; prune drops the old ones of both, frees the chunks only the
// dropped one used, and every snapshot left verifies deep.
func TestPruneMixedFormats(t *testing.T) {
	opts := Options{Dedup: true, StateDir: t.TempDir(), PackSize: 256 << 10}
	repo, _ := newRepo(t, opts)
	flat := New(repo.store, Options{})
	ctx := t.Context()
	start := time.Now().Add(-time.Hour)
	for i, r := range []*Repository{repo, flat, repo, flat} {
		w := r.NewWriter(SnapshotInfo{Now: func() time.Time { return start.Add(time.Duration(i) * time.Minute) }})
		if _, err := w.WritePart(ctx, "paths", "p", randomPart(700<<10, uint64(i))); err != nil {
			t.Fatal(err)
		}
		if _, err := w.WritePart(ctx, "paths", "static", randomPart(300<<10, 99)); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	packsBefore := countKeys(t, repo.store, chunkstore.PackPrefix)
	res, err := repo.Prune(ctx, Policy{Last: 2}, PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Chunks == nil || res.Chunks.DeadPacks+res.Chunks.RepackedPacks == 0 || res.Chunks.Freed() < 500<<10 {
		t.Fatalf("prune freed nothing of the dropped format 3 snapshot: %+v", res.Chunks)
	}
	t.Logf("packs %d → %d: %+v", packsBefore, countKeys(t, repo.store, chunkstore.PackPrefix), *res.Chunks)
	verifyAll(t, New(repo.store, opts), 2)
}

// TestPruneKeepsYoungOrphanChunks: the chunks of a backup that wrote its
// packs, index and chunk lists but no manifest yet stay while its parts
// are younger than the grace period, and go with them afterwards.
func TestPruneKeepsYoungOrphanChunks(t *testing.T) {
	opts := Options{Dedup: true, StateDir: t.TempDir(), PackSize: 256 << 10}
	repo, _ := newRepo(t, opts)
	ctx := t.Context()
	w := repo.NewWriter(SnapshotInfo{Now: func() time.Time { return time.Now().Add(-time.Minute) }})
	if _, err := w.WritePart(ctx, "paths", "p", randomPart(300<<10, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// A backup killed right before its manifest.
	orphan := repo.NewWriter(SnapshotInfo{})
	if _, err := orphan.WritePart(ctx, "paths", "p", randomPart(900<<10, 2)); err != nil {
		t.Fatal(err)
	}
	if err := orphan.chunks.s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	packs := countKeys(t, repo.store, chunkstore.PackPrefix)
	res, err := repo.Prune(ctx, Policy{Last: 1}, PruneOptions{Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.SkippedOrphan) != 1 || res.Chunks.PacksDeleted() != 0 || countKeys(t, repo.store, chunkstore.PackPrefix) != packs {
		t.Fatalf("a young orphan's packs were touched: %+v %+v", res, res.Chunks)
	}
	res, err = repo.Prune(ctx, Policy{Last: 1}, PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.OrphanIDs) != 1 || res.Chunks.DeadPacks == 0 {
		t.Fatalf("without grace the orphan's packs stay: %+v %+v", res, res.Chunks)
	}
	verifyAll(t, New(repo.store, opts), 1)
}

func countKeys(t *testing.T, store storage.Store, prefix string) int {
	t.Helper()
	n := 0
	if err := store.List(t.Context(), prefix, func(storage.ObjectInfo) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// verifyAll checks that want snapshots are left and each verifies deep.
func verifyAll(t *testing.T, repo *Repository, want int) {
	t.Helper()
	ids, err := repo.IDs(t.Context())
	if err != nil || len(ids) != want {
		t.Fatalf("snapshots left: %v %v, want %d", ids, err, want)
	}
	for _, id := range ids {
		m, err := repo.Manifest(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := repo.Verify(t.Context(), m, true); err != nil {
			t.Fatalf("snapshot %s after prune: %v", id, err)
		}
	}
}
