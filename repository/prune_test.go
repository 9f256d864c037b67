package repository

import (
	"io"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
)

func idAt(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return snapshot.NewID(t)
}

func TestPolicyDecide(t *testing.T) {
	ids := []string{
		idAt("2026-11-20T01:00:00Z"), idAt("2026-11-21T01:00:00Z"), idAt("2026-11-22T01:00:00Z"),
		idAt("2026-11-23T01:00:00Z"), idAt("2026-11-23T13:00:00Z"), idAt("2026-11-24T01:00:00Z"),
	}
	keep := func(p Policy) []string {
		var out []string
		for _, d := range p.Decide(ids) {
			if d.Keep {
				out = append(out, d.ID)
			}
		}
		return out
	}
	if got := keep(Policy{Last: 2}); len(got) != 2 || got[0] != ids[5] || got[1] != ids[4] {
		t.Fatalf("keep-last 2: %v", got)
	}
	// Daily keeps the newest of each day: 24th, 23rd 13:00, 22nd.
	if got := keep(Policy{Daily: 3}); len(got) != 3 || got[1] != ids[4] || got[2] != ids[2] {
		t.Fatalf("keep-daily 3: %v", got)
	}
	// Weekly: 2026-11-23 starts ISO week 48; the 20th-22nd are week 47.
	if got := keep(Policy{Weekly: 5}); len(got) != 2 {
		t.Fatalf("keep-weekly 5: %v", got)
	}
	// The newest snapshot is always kept.
	if got := keep(Policy{Monthly: 0, Yearly: 0, Hourly: 0, Last: 0, Daily: 0, Weekly: 0}); len(got) != 1 || got[0] != ids[5] {
		t.Fatalf("empty policy keeps newest: %v", got)
	}
}

func TestPruneDeletesAndCleansOrphans(t *testing.T) {
	repo, _ := newRepo(t, Options{})
	ctx := t.Context()
	var ids []string
	for range 3 {
		w := repo.NewWriter(SnapshotInfo{})
		if _, err := w.WritePart(ctx, "paths", "p", writeString("data")); err != nil {
			t.Fatal(err)
		}
		m, err := w.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
		time.Sleep(1100 * time.Millisecond) // ids have one-second resolution
	}
	// An interrupted run: a part without manifest, started long ago.
	orphan := snapshot.NewID(time.Now().Add(-48 * time.Hour))
	if err := repo.store.Put(ctx, snapshot.PartKey(orphan, "paths", "p", "zstd", false), eofReader{}); err != nil {
		t.Fatal(err)
	}
	res, err := repo.Prune(ctx, Policy{Last: 1}, PruneOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := repo.IDs(ctx); len(left) != 3 || len(res.OrphanIDs) != 1 {
		t.Fatalf("dry run changed something or missed the orphan: %v %+v", left, res)
	}
	if _, err := repo.Prune(ctx, Policy{Last: 1}, PruneOptions{Grace: time.Hour}); err != nil {
		t.Fatal(err)
	}
	left, _ := repo.IDs(ctx)
	if len(left) != 1 || left[0] != ids[2] {
		t.Fatalf("after prune: %v, want only %s", left, ids[2])
	}
	// The orphan's object is fresh (mtime now), so the grace period keeps it…
	if _, err := repo.store.Stat(ctx, snapshot.PartKey(orphan, "paths", "p", "zstd", false)); err != nil {
		t.Fatalf("young orphan deleted: %v", err)
	}
	// …and without grace it goes, along with the pruned snapshots' parts.
	if _, err := repo.Prune(ctx, Policy{Last: 1}, PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	n := 0
	_ = repo.store.List(ctx, snapshot.PartPrefix, func(_ storage.ObjectInfo) error { n++; return nil })
	if n != 1 {
		t.Fatalf("%d part objects left, want 1", n)
	}
	if _, err := repo.Prune(ctx, Policy{}, PruneOptions{}); err == nil {
		t.Fatal("empty policy must be refused")
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
