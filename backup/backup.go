// Package backup defines the Snapshotter contract that every source
// implements and Run, which writes one snapshot from a set of sources under
// the repository lock: all parts first, the manifest last, or nothing.
package backup

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/snapshot"
)

// Snapshotter is one configured source (paths, mariadb, zookeeper, volumes).
// Snapshot writes the source's parts into sink; each part is one stream.
type Snapshotter interface {
	Source() string
	Snapshot(ctx context.Context, sink PartSink) error
}

// PartSink receives the parts of one source.
type PartSink interface {
	WritePart(ctx context.Context, name string, produce repository.Produce) error
}

// Options for Run.
type Options struct {
	Info repository.SnapshotInfo
	Lock repository.LockOptions
	Log  *slog.Logger
	// Concurrency is how many sources run at once; 0 means all of them,
	// 1 one after the other.
	Concurrency int
	// After names sources that run alone, once all the others are done
	// (in the given order). The CLI puts the volumes source here when it
	// stops containers, so a cold copy never stops a database another
	// source is still dumping.
	After []string
	// Progress, when set, is updated while the run goes (bytes per source).
	Progress *Progress
	// Prune, when set, applies this retention under the same lock once
	// the snapshot is written.
	Prune *PruneOptions
}

// PruneOptions is the retention Run applies after a successful snapshot.
type PruneOptions struct {
	Policy repository.Policy
	Grace  time.Duration
	// Result is filled in by Run.
	Result *repository.PruneResult
}

// SourceError says which source failed.
type SourceError struct {
	Source string
	Err    error
}

func (e *SourceError) Error() string { return "source " + e.Source + ": " + e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

// PruneError is returned, together with the manifest, when the snapshot was
// written but the retention run after it failed.
type PruneError struct {
	SnapshotID string
	Err        error
}

func (e *PruneError) Error() string {
	return "snapshot " + e.SnapshotID + " written, but prune failed: " + e.Err.Error()
}
func (e *PruneError) Unwrap() error { return e.Err }

// Run writes one snapshot of all sources, running them concurrently as
// o.Concurrency and o.After allow. If any source fails or ctx is cancelled,
// the other sources are cancelled, the parts written so far are deleted, no
// manifest is written, and the error (a *SourceError) names the source that
// failed first. The lock is released in every case. With o.Prune, the
// retention is applied under the same lock; if only that fails, Run returns
// the manifest and a *PruneError.
func Run(ctx context.Context, repo *repository.Repository, sources []Snapshotter, o Options) (m *snapshot.Manifest, err error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o.Lock.Operation = "backup"
	lock, lctx, err := repo.Lock(ctx, o.Lock)
	if err != nil {
		return nil, err
	}
	defer func() {
		uctx, cancel := cleanupContext(ctx)
		defer cancel()
		uerr := lock.Unlock(uctx)
		if uerr != nil && m != nil {
			// The snapshot is complete; failing the run would misreport it.
			log.Warn("snapshot written, but the repository lock was not released; it goes stale after its TTL or run 'zuulstate unlock'", "error", uerr)
			return
		}
		err = errors.Join(err, uerr)
	}()

	// "latest" is the greatest id; ids hold the start to the second.
	if err := repo.WaitPastNewest(lctx); err != nil {
		return nil, err
	}
	w := repo.NewWriter(o.Info)
	log.Info("backup started", "snapshot", w.ID(), "repository", repo.String(), "sources", len(sources))
	first, later := phases(sources, o.After)
	for _, phase := range [][]Snapshotter{first, later} {
		if err := runPhase(lctx, w, phase, o, log); err != nil {
			return nil, abort(ctx, w, err, log)
		}
	}
	m, err = w.Commit(lctx)
	if err != nil {
		return nil, abort(ctx, w, err, log)
	}
	log.Info("backup complete", "snapshot", m.ID, "parts", len(m.Parts), "raw_bytes", m.RawBytes(), "stored_bytes", m.StoredBytes())
	if p := o.Prune; p != nil {
		res, perr := repo.Prune(lctx, p.Policy, repository.PruneOptions{Grace: p.Grace, Log: log})
		if perr != nil {
			return m, &PruneError{SnapshotID: m.ID, Err: perr}
		}
		p.Result = res
		deleted := 0
		for _, d := range res.Decisions {
			if !d.Keep {
				deleted++
			}
		}
		args := []any{"deleted_snapshots", deleted, "orphans", len(res.OrphanIDs), "deleted_objects", res.DeletedKeys}
		if c := res.Chunks; c != nil {
			args = append(args, "packs_deleted", c.PacksDeleted(), "packs_rewritten", c.RepackedPacks, "bytes_freed", c.Freed())
		}
		log.Info("prune complete", args...)
	}
	return m, nil
}

// phases splits sources into those that may overlap and those named in
// after, which run alone at the end in after's order.
func phases(sources []Snapshotter, after []string) (first, later []Snapshotter) {
	for _, name := range after {
		for _, s := range sources {
			if s.Source() == name {
				later = append(later, s)
			}
		}
	}
	for _, s := range sources {
		if !slices.Contains(after, s.Source()) {
			first = append(first, s)
		}
	}
	return first, later
}

// runPhase runs sources at once (up to o.Concurrency). The first failure
// cancels the others and is the error returned: a sibling that stops
// because of that cancellation is not reported as the cause.
func runPhase(ctx context.Context, w *repository.Writer, sources []Snapshotter, o Options, log *slog.Logger) error {
	gctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var g errgroup.Group
	if o.Concurrency > 0 {
		g.SetLimit(o.Concurrency)
	}
	for _, src := range sources {
		g.Go(func() error {
			select {
			case <-gctx.Done():
				return nil // a sibling failed before this one started
			default:
			}
			err := runSource(gctx, w, src, o.Progress, log)
			if err != nil {
				cancel(err) // only the first call sets the cause
			}
			return err
		})
	}
	err := g.Wait()
	if cause := context.Cause(gctx); cause != nil && ctx.Err() == nil {
		return cause
	}
	return err
}

func runSource(ctx context.Context, w *repository.Writer, src Snapshotter, p *Progress, log *slog.Logger) error {
	start := time.Now()
	st := p.begin(src.Source())
	sink := &sourceSink{w: w, source: src.Source(), log: log, stats: st}
	err := src.Snapshot(ctx, sink)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && errors.Is(err, context.Canceled) {
			err = cause
		}
		var se *SourceError
		if !errors.As(err, &se) {
			err = &SourceError{Source: src.Source(), Err: err}
		}
		p.end(st, err)
		return err
	}
	p.end(st, nil)
	log.Info("source done", "source", src.Source(), "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

func abort(ctx context.Context, w *repository.Writer, cause error, log *slog.Logger) error {
	actx, cancel := cleanupContext(ctx)
	defer cancel()
	if err := w.Abort(actx); err != nil {
		log.Warn("could not delete parts of the failed snapshot; prune removes them later", "snapshot", w.ID(), "error", err)
	}
	return cause
}

// cleanupContext outlives a cancelled run (SIGTERM) for a short while, so
// locks are released and partial parts deleted.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

type sourceSink struct {
	w      *repository.Writer
	source string
	log    *slog.Logger
	stats  *SourceStats
}

func (s *sourceSink) WritePart(ctx context.Context, name string, produce repository.Produce) error {
	start := time.Now()
	p, err := s.w.WritePart(ctx, s.source, name, s.stats.counting(produce))
	if err != nil {
		return err
	}
	s.stats.partDone(p)
	s.log.Info("part written", "source", s.source, "part", name, "raw_bytes", p.RawSize, "stored_bytes", p.AddedBytes(),
		"duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// ErrEmptySource is returned by a source that would write nothing, so a
// misconfigured backup fails instead of reporting success.
var ErrEmptySource = errors.New("source has nothing to back up")
