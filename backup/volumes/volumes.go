// Package volumes is the backup source for Docker named volumes and bind
// mounts: each selected volume or bind path becomes one part, a dirtar
// stream, taken either directly from the mountpoint (full fidelity) or
// through the engine API from a helper container (for remote engines and
// unreadable mountpoints; some attributes are lost, see LostByAPI).
// Cold copies stop the containers using a volume and always start them
// again, in reverse order, whatever happens.
package volumes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/zuulstate/zuulstate/backup"
	"github.com/zuulstate/zuulstate/dirtar"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
	"github.com/zuulstate/zuulstate/source/volumes/volumespart"
)

// LabelStop on a volume or container asks for cold copies ("true").
const LabelStop = "zuulstate.stop"

// Config selects what to back up and how.
type Config struct {
	Conn        engine.Conn
	Mode        string
	StopTimeout time.Duration
	Volumes     []VolumeSel
	Containers  []ContainerSel
	Log         *slog.Logger
	// Engine, if set, is used instead of connecting with Conn.
	Engine *engine.Engine
}

// VolumeSel selects named volumes by Name, or all volumes carrying Label
// ("key" or "key=value").
type VolumeSel struct {
	Name, Label string
	Exclude     []string
	Stop        bool
	Mode        string
}

// ContainerSel selects every volume and bind mount of a container.
type ContainerSel struct {
	Name    string
	Exclude []string
	Stop    bool
	Mode    string
}

// Snapshotter backs up volumes and bind mounts.
type Snapshotter struct{ cfg Config }

var _ backup.Snapshotter = (*Snapshotter)(nil)

// New returns a Snapshotter for cfg.
func New(cfg Config) *Snapshotter {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 30 * time.Second
	}
	if cfg.Mode == "" {
		cfg.Mode = volumespart.ModeAuto
	}
	return &Snapshotter{cfg: cfg}
}

// Source returns "volumes".
func (s *Snapshotter) Source() string { return volumespart.SourceName }

// Snapshot resolves the whole selection first (a missing volume or
// container fails the run before anything is stopped or written), then
// copies group by group.
func (s *Snapshotter) Snapshot(ctx context.Context, sink backup.PartSink) (err error) {
	eng := s.cfg.Engine
	if eng == nil {
		if eng, err = engine.Connect(ctx, s.cfg.Conn, s.cfg.Log); err != nil {
			return err
		}
		defer eng.Close()
	}
	if _, err := eng.CleanupStale(ctx); err != nil {
		s.cfg.Log.Warn("could not remove helpers of an earlier run", "error", err)
	}
	if _, err := restartLeftStopped(ctx, eng.API, eng.Owner(), s.cfg.Log); err != nil {
		// Logged, not fatal: failing every backup over one broken
		// container would leave everything else without backups too.
		s.cfg.Log.Error("containers left stopped by an interrupted run", "error", err)
	}
	items, err := s.resolve(ctx, eng)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return backup.ErrEmptySource
	}
	defer func() {
		cctx, cancel := cleanupContext(ctx, 0)
		defer cancel()
		err = errors.Join(err, eng.Finish(cctx))
	}()
	for _, g := range groupItems(items) {
		if err := s.copyGroup(ctx, eng, g, sink); err != nil {
			return err
		}
	}
	return nil
}

// cleanupContext outlives a cancelled run (SIGINT, SIGTERM) long enough
// to start stopped containers again and remove helpers: it keeps ctx's
// values but not its cancellation.
func cleanupContext(ctx context.Context, stopTimeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute+stopTimeout)
}

// copyGroup copies the parts of one group under one stop of its
// containers. The deferred restart covers every way out: an error, a
// cancelled ctx, a panic.
func (s *Snapshotter) copyGroup(ctx context.Context, eng *engine.Engine, g *group, sink backup.PartSink) (err error) {
	st := &stopper{api: eng.API, timeout: s.cfg.StopTimeout, log: s.cfg.Log, owner: eng.Owner()}
	defer func() {
		cctx, cancel := cleanupContext(ctx, s.cfg.StopTimeout)
		defer cancel()
		err = errors.Join(err, st.restart(cctx))
	}()
	if err := st.stop(ctx, g.stop); err != nil {
		return err
	}
	for i, it := range g.items {
		last := i == len(g.items)-1
		err := sink.WritePart(ctx, it.part, func(ctx context.Context, w io.Writer) (any, error) {
			stats, err := s.copyItem(ctx, eng, it, w)
			if err != nil {
				return nil, err
			}
			if last {
				// Start the containers as soon as the data is read;
				// the upload of the tail does not need them down. A
				// container that does not start is tried once more and
				// reported (once) by the deferred restart.
				_ = st.restart(ctx)
			}
			return it.meta(eng, stats, st.records()), nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// copyItem streams one part the way chosen for it.
func (s *Snapshotter) copyItem(ctx context.Context, eng *engine.Engine, it *item, w io.Writer) (dirtar.WriteStats, error) {
	s.cfg.Log.Info("copying", "part", it.part, "kind", it.kind, "way", it.way, "copy", it.copyKind())
	var stats dirtar.WriteStats
	var err error
	if it.way == volumespart.WayDirect {
		stats, err = dirtar.Write(ctx, w, it.path, dirtar.WriteOptions{Exclude: it.exclude})
	} else {
		stats, err = s.copyAPI(ctx, eng, it, w)
	}
	if err != nil {
		return stats, fmt.Errorf("%s %s: %w", it.kind, it.name(), err)
	}
	if n := stats.Changed + stats.Vanished; n > 0 {
		s.cfg.Log.Warn("hot copy: files changed or vanished while copied (kept as read; stop the writers for a consistent copy)",
			"part", it.part, "changed", stats.Changed, "vanished", stats.Vanished, "writers", it.writers)
	}
	return stats, nil
}
