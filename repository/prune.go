package repository

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/zuulstate/zuulstate/chunkstore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
)

// Policy says which snapshots to keep, like restic's forget: the newest Last
// snapshots, plus the newest snapshot of each of the newest Hourly hours,
// Daily days, Weekly ISO weeks, Monthly months and Yearly years that have
// snapshots. Times are UTC. The newest snapshot is always kept.
type Policy struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int
}

// Empty reports whether the policy keeps nothing explicitly; pruning with an
// empty policy is refused rather than deleting all but the newest snapshot.
func (p Policy) Empty() bool { return p == Policy{} }

// Decision is the fate of one snapshot under a policy.
type Decision struct {
	ID      string
	Time    time.Time
	Keep    bool
	Reasons []string // which rules keep it
}

type bucketRule struct {
	name  string
	count int
	key   func(time.Time) string
}

// Decide applies p to ids (any order) and returns decisions newest first.
func (p Policy) Decide(ids []string) []Decision {
	var ds []Decision
	for _, id := range ids {
		t, err := snapshot.IDTime(id)
		if err != nil {
			continue
		}
		ds = append(ds, Decision{ID: id, Time: t})
	}
	// Newest first; ids sort by time.
	for i, j := 0, len(ds)-1; i < j; i, j = i+1, j-1 {
		ds[i], ds[j] = ds[j], ds[i]
	}
	rules := []bucketRule{
		{"last", p.Last, func(time.Time) string { return "" }},
		{"hourly", p.Hourly, func(t time.Time) string { return t.Format("2006-01-02T15") }},
		{"daily", p.Daily, func(t time.Time) string { return t.Format("2006-01-02") }},
		{"weekly", p.Weekly, func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%d-W%02d", y, w) }},
		{"monthly", p.Monthly, func(t time.Time) string { return t.Format("2006-01") }},
		{"yearly", p.Yearly, func(t time.Time) string { return t.Format("2006") }},
	}
	for _, r := range rules {
		kept, last := 0, "\x00"
		for i := range ds {
			if kept >= r.count {
				break
			}
			k := r.key(ds[i].Time)
			if r.name == "last" || k != last {
				ds[i].Keep = true
				ds[i].Reasons = append(ds[i].Reasons, r.name)
				kept++
				last = k
			}
		}
	}
	if len(ds) > 0 && !ds[0].Keep {
		ds[0].Keep = true
		ds[0].Reasons = append(ds[0].Reasons, "newest")
	}
	return ds
}

// PruneOptions tune Prune.
type PruneOptions struct {
	// Grace protects parts without a manifest and packs no index names
	// (an interrupted or running backup's) while younger than this.
	Grace  time.Duration
	DryRun bool
	// RepackThreshold: a pack whose live chunks fill less than this
	// fraction of it is rewritten; 0 means the default
	// (chunkstore.DefaultRepackThreshold), a negative value never rewrites.
	RepackThreshold float64
	// Log gets a line per step of the chunk store's prune; nil: none.
	Log *slog.Logger
}

// PruneResult reports what Prune did (or would do, in a dry run).
type PruneResult struct {
	Decisions     []Decision
	OrphanIDs     []string // snapshot ids whose parts have no manifest
	DeletedKeys   int
	SkippedOrphan []string // too young to delete: perhaps still being written
	// Retained lists what the policy or the orphan rule would delete but an
	// S3 Object Lock retention protects; a later prune deletes it.
	Retained []Retained
	// Chunks is what the chunk store's prune did (nil: the repository
	// has no format 3 chunk store).
	Chunks *chunkstore.PruneStats
}

// Retained is a snapshot (or an orphan's parts) that cannot be deleted yet.
type Retained struct {
	ID     string
	Until  time.Time // zero if the store did not say
	Orphan bool      // parts without a manifest, not a whole snapshot
}

// Kept counts the snapshots the policy keeps.
func (r *PruneResult) Kept() int {
	n := 0
	for _, d := range r.Decisions {
		if d.Keep {
			n++
		}
	}
	return n
}

// retainedUntil asks a store with retention when key may be deleted; the
// zero time means now.
func (r *Repository) retainedUntil(ctx context.Context, key string) (time.Time, error) {
	ret, ok := r.store.(storage.Retainer)
	if !ok {
		return time.Time{}, nil
	}
	return ret.RetainedUntil(ctx, key)
}

// Prune removes snapshots the policy does not keep, then parts left by
// interrupted runs that are older than o.Grace, then the chunks no
// remaining snapshot needs (pruneChunks). The caller holds the lock.
// A snapshot is removed manifest first, so a half-finished removal leaves
// parts without a manifest (cleaned up next time), never a manifest whose
// parts are gone.
//
// Under S3 Object Lock a snapshot whose manifest is still retained is left
// whole and reported in Retained. Its parts were written before the
// manifest, so their retention ends first: once the manifest may go, so may
// they. Parts that are retained anyway (the retention was lengthened in
// between) stay as orphans, reported too, for a later prune.
func (r *Repository) Prune(ctx context.Context, p Policy, o PruneOptions) (*PruneResult, error) {
	if p.Empty() {
		return nil, errors.New("refusing to prune without a retention policy: set at least one --keep-* option or retention in the config")
	}
	ids, err := r.IDs(ctx)
	if err != nil {
		return nil, err
	}
	res := &PruneResult{Decisions: p.Decide(ids)}
	for _, d := range res.Decisions {
		if d.Keep {
			continue
		}
		until, err := r.retainedUntil(ctx, snapshot.ManifestKey(d.ID))
		if err != nil {
			return res, fmt.Errorf("snapshot %s: %w", d.ID, err)
		}
		if !until.IsZero() {
			res.Retained = append(res.Retained, Retained{ID: d.ID, Until: until})
			continue
		}
		if o.DryRun {
			continue
		}
		err = r.store.Delete(ctx, snapshot.ManifestKey(d.ID))
		if errors.Is(err, storage.ErrRetained) {
			res.Retained = append(res.Retained, Retained{ID: d.ID})
			continue
		}
		if err != nil {
			return res, fmt.Errorf("delete manifest of snapshot %s: %w", d.ID, err)
		}
		n, retained, err := r.deletePrefix(ctx, snapshot.PartDir(d.ID))
		res.DeletedKeys += n + 1
		if err != nil {
			return res, err
		}
		if retained {
			res.Retained = append(res.Retained, Retained{ID: d.ID, Orphan: true})
		}
	}
	if err := r.pruneOrphans(ctx, ids, o.Grace, o.DryRun, res); err != nil {
		return res, err
	}
	if err := r.pruneChunks(ctx, o, res); err != nil {
		return res, err
	}
	return res, r.sweepLeftovers(ctx, o.Grace, o.DryRun, res)
}

func (r *Repository) pruneOrphans(ctx context.Context, ids []string, grace time.Duration, dryRun bool, res *PruneResult) error {
	have := map[string]bool{}
	for _, id := range ids {
		have[id] = true
	}
	newest := map[string]time.Time{} // orphan id → newest object time
	err := r.store.List(ctx, snapshot.PartPrefix, func(oi storage.ObjectInfo) error {
		id, ok := snapshot.IDFromPartKey(oi.Key)
		if !ok || have[id] {
			return nil
		}
		if t, seen := newest[id]; !seen || oi.ModTime.After(t) {
			newest[id] = oi.ModTime
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list parts: %w", err)
	}
	now := time.Now()
	for _, id := range slices.Sorted(maps.Keys(newest)) {
		t := newest[id]
		// Pruned snapshots' parts are orphans too, but only in a dry run.
		if dryRun && r.decidedRemove(res, id) {
			continue
		}
		started, _ := snapshot.IDTime(id)
		if now.Sub(started) < grace || now.Sub(t) < grace {
			res.SkippedOrphan = append(res.SkippedOrphan, id)
			continue
		}
		res.OrphanIDs = append(res.OrphanIDs, id)
		if dryRun {
			continue
		}
		n, retained, err := r.deletePrefix(ctx, snapshot.PartDir(id))
		res.DeletedKeys += n
		if err != nil {
			return err
		}
		if retained {
			res.OrphanIDs = res.OrphanIDs[:len(res.OrphanIDs)-1]
			res.Retained = append(res.Retained, Retained{ID: id, Orphan: true})
		}
	}
	return nil
}

func (r *Repository) decidedRemove(res *PruneResult, id string) bool {
	for _, d := range res.Decisions {
		if d.ID == id {
			return !d.Keep
		}
	}
	return false
}

// deletePrefix deletes every object under prefix and returns how many it
// deleted and whether some were retained (and skipped).
func (r *Repository) deletePrefix(ctx context.Context, prefix string) (n int, retained bool, err error) {
	var keys []string
	if err := r.store.List(ctx, prefix, func(oi storage.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	}); err != nil {
		return 0, false, fmt.Errorf("list %s: %w", prefix, err)
	}
	for _, k := range keys {
		err := r.store.Delete(ctx, k)
		switch {
		case errors.Is(err, storage.ErrRetained):
			retained = true
		case err != nil:
			return n, retained, fmt.Errorf("delete %s: %w", k, err)
		default:
			n++
		}
	}
	return n, retained, nil
}
