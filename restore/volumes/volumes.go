// Package volumes restores parts of the volumes source: it creates the
// volume (under a mapped name if asked, with the recorded driver, options
// and labels) or the bind path, extracts the tar stream into it, and
// compares what was written with the counts in the manifest.
//
// Extraction is dirtar's staged extract wherever it runs: every entry is
// validated before it is written, and the archive lands in a hidden
// directory inside the target that is moved into place only once the
// whole archive was good, so a rejected archive writes nothing to the
// target. The direct way runs it here on the mountpoint; the engine-API
// way runs the same code inside a helper container (zuulstate's own
// static binary, no network), fed over attach: the engine's
// CopyToContainer is not used, as it refuses some symlinks and stops
// halfway.
package volumes

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
	"github.com/zuulstate/zuulstate/source/volumes/volumespart"
)

// Config says where and how parts are restored.
type Config struct {
	Conn engine.Conn
	// Engine, if set, is used instead of connecting with Conn.
	Engine *engine.Engine
	// Mode is auto (direct when the target is writable here), direct or api.
	Mode string
	// VolumeMap renames volumes: source name -> target name.
	VolumeMap map[string]string
	// BindMap moves bind paths: source path prefix -> target prefix (the
	// longest matching prefix wins).
	BindMap map[string]string
	// Force restores into non-empty targets, replacing their content
	// once the archive has been extracted completely.
	Force bool
	// AllowDevices lets device nodes in archives be created.
	AllowDevices bool
	// HelperBinary is a static zuulstate for the API way; default: this
	// program.
	HelperBinary string
	// PlainVolumes creates volumes with the local driver and without the
	// recorded options and labels: a restore drill's scratch volumes must
	// not reach the original's storage (a local volume with device
	// options is a mount of it) nor carry its compose project's labels.
	PlainVolumes bool
	Log          *slog.Logger
	// Out receives one verification line per restored part.
	Out io.Writer
}

// Restorer restores volumes parts.
type Restorer struct {
	cfg     Config
	mu      sync.Mutex
	eng     *engine.Engine
	own     bool            // eng was connected here and is closed by Close
	bg      context.Context // for Close, which gets no context
	targets map[string]*target
	results []restore.Result
}

var (
	_ restore.Restorer = (*Restorer)(nil)
	_ restore.Reporter = (*Restorer)(nil)
	_ restore.Planner  = (*Restorer)(nil)
)

// Results returns the file and byte counts of the parts restored so far.
func (r *Restorer) Results() []restore.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]restore.Result(nil), r.results...)
}

// New returns a Restorer for cfg.
func New(cfg Config) *Restorer {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Mode == "" {
		cfg.Mode = volumespart.ModeAuto
	}
	return &Restorer{cfg: cfg, targets: map[string]*target{}}
}

// Source returns "volumes".
func (r *Restorer) Source() string { return volumespart.SourceName }

// engine connects on first use; Check is the first call with a context.
func (r *Restorer) engine(ctx context.Context) (*engine.Engine, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.eng != nil {
		return r.eng, nil
	}
	r.bg = context.WithoutCancel(ctx)
	if r.cfg.Engine != nil {
		r.eng = r.cfg.Engine
		return r.eng, nil
	}
	eng, err := engine.Connect(ctx, r.cfg.Conn, r.cfg.Log)
	if err != nil {
		return nil, err
	}
	if _, err := eng.CleanupStale(ctx); err != nil {
		r.cfg.Log.Warn("could not remove helpers of an earlier run", "error", err)
	}
	r.eng, r.own = eng, true
	return eng, nil
}

// Check resolves the part's target and refuses a non-empty one unless
// Force. It creates nothing.
func (r *Restorer) Check(ctx context.Context, p snapshot.Part) error {
	eng, err := r.engine(ctx)
	if err != nil {
		return err
	}
	t, err := r.resolve(ctx, eng, p)
	if err != nil {
		return err
	}
	r.targets[p.Name] = t
	if t.way == volumespart.WayAPI {
		if _, err := r.helperBinary(); err != nil {
			return err
		}
	}
	if t.nonEmpty != "" && !r.cfg.Force {
		return fmt.Errorf("%w: %s %s contains %q (use --force to replace its content, or --volume-map/--bind-map to restore elsewhere)",
			restore.ErrTargetNotEmpty, t.kind, t.name(), t.nonEmpty)
	}
	return nil
}

// Restore restores each part: it creates the target if needed, extracts
// the stream into it and verifies the counts.
func (r *Restorer) Restore(ctx context.Context, parts []snapshot.Part, open restore.Opener) error {
	eng, err := r.engine(ctx)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if err := r.restorePart(ctx, eng, p, open); err != nil {
			return err
		}
	}
	return nil
}

func (r *Restorer) restorePart(ctx context.Context, eng *engine.Engine, p snapshot.Part, open restore.Opener) error {
	t, err := r.resolve(ctx, eng, p)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	src, finish, err := open(ctx, p)
	if err != nil {
		return err
	}
	if err := r.write(ctx, eng, p, t, src); err != nil {
		cancel() // finish then releases the part without reading the rest
		_ = finish()
		return err
	}
	return finish()
}

// write creates the target if needed, extracts src into it and compares
// the counts with the manifest.
func (r *Restorer) write(ctx context.Context, eng *engine.Engine, p snapshot.Part, t *target, src io.Reader) error {
	if err := r.create(ctx, eng, t); err != nil {
		return err
	}
	if t.nonEmpty != "" {
		r.cfg.Log.Warn("--force: the target is not empty; its content is replaced once the archive has been extracted completely",
			"target", t.kind+" "+t.name())
		fmt.Fprintf(r.cfg.Out, "--force: replacing the content of %s %s\n", t.kind, t.name())
	}
	start := time.Now()
	stats, err := r.extract(ctx, eng, t, src)
	if err != nil {
		if strings.Contains(err.Error(), "devices are not allowed") {
			err = fmt.Errorf("%w (nothing was written; use --allow-devices to create device nodes)", err)
		}
		return fmt.Errorf("%s %s: %w", t.kind, t.name(), err)
	}
	line, err := verify(p, t, stats)
	r.mu.Lock()
	r.results = append(r.results,
		restore.Result{Source: p.Source, Part: p.Name, What: "files in " + t.kind + " " + t.name(), Expected: t.meta.Stats.Files, Found: stats.Files},
		restore.Result{Source: p.Source, Part: p.Name, What: "bytes", Expected: t.meta.Stats.Bytes, Found: stats.Bytes})
	r.mu.Unlock()
	fmt.Fprintln(r.cfg.Out, line)
	r.cfg.Log.Info("part restored", "part", p.Name, "target", t.kind+" "+t.name(), "way", t.way, "duration", time.Since(start).Round(time.Millisecond))
	return err
}

// helperBinary returns the static zuulstate to put in helper images.
func (r *Restorer) helperBinary() (string, error) {
	bin := r.cfg.HelperBinary
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("find this program for the helper image: %w (set restore.volumes.helper_binary)", err)
		}
		bin = exe
	}
	return bin, engine.CheckStatic(bin)
}

// Close removes the helper image and closes the engine connection.
func (r *Restorer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.eng == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(r.bg, time.Minute)
	defer cancel()
	err := r.eng.Finish(ctx)
	if r.own {
		r.eng.Close()
	}
	r.eng = nil
	return err
}
