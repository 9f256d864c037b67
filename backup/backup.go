// Package backup defines the Snapshotter contract that every source
// implements and Run, which writes one snapshot from a set of sources under
// the repository lock: all parts first, the manifest last, or nothing.
package backup

import (
	"context"
	"errors"
	"log/slog"
	"time"

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
}

// SourceError says which source failed.
type SourceError struct {
	Source string
	Err    error
}

func (e *SourceError) Error() string { return "source " + e.Source + ": " + e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

// Run writes one snapshot of all sources. If any source fails or ctx is
// cancelled, the parts written so far are deleted, no manifest is written,
// and the error says which source failed. The lock is released in every case.
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
		if uerr != nil && err == nil {
			// The snapshot is complete; failing the run would misreport it.
			log.Warn("snapshot written, but the repository lock was not released; it goes stale after its TTL or run 'zuulstate unlock'", "error", uerr)
			return
		}
		err = errors.Join(err, uerr)
	}()

	w := repo.NewWriter(o.Info)
	log.Info("backup started", "snapshot", w.ID(), "repository", repo.String())
	for _, src := range sources {
		start := time.Now()
		sink := &sourceSink{w: w, source: src.Source(), log: log}
		if err := src.Snapshot(lctx, sink); err != nil {
			if cause := context.Cause(lctx); cause != nil && errors.Is(err, context.Canceled) {
				err = cause
			}
			return nil, abort(ctx, w, &SourceError{Source: src.Source(), Err: err}, log)
		}
		log.Info("source done", "source", src.Source(), "duration", time.Since(start).Round(time.Millisecond))
	}
	m, err = w.Commit(lctx)
	if err != nil {
		return nil, abort(ctx, w, err, log)
	}
	log.Info("backup complete", "snapshot", m.ID, "parts", len(m.Parts), "raw_bytes", m.RawBytes(), "stored_bytes", m.StoredBytes())
	return m, nil
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
}

func (s *sourceSink) WritePart(ctx context.Context, name string, produce repository.Produce) error {
	start := time.Now()
	p, err := s.w.WritePart(ctx, s.source, name, produce)
	if err != nil {
		return err
	}
	s.log.Info("part written", "source", s.source, "part", name, "raw_bytes", p.RawSize, "stored_bytes", p.StoredSize,
		"duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// ErrEmptySource is returned by a source that would write nothing, so a
// misconfigured backup fails instead of reporting success.
var ErrEmptySource = errors.New("source has nothing to back up")
