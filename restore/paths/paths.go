// Package paths restores parts of the paths source: tar streams extracted
// into a target directory with dirtar, which refuses paths that would escape
// the target.
package paths

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/zuulstate/zuulstate/dirtar"
	"github.com/zuulstate/zuulstate/internal/units"
	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/paths/pathspart"
)

// Restorer extracts paths parts.
type Restorer struct {
	// Target is the directory that receives one subdirectory per part,
	// named after the part. Empty means each part goes back to the path it
	// was taken from (disaster recovery on the same layout).
	Target string
	// Force allows restoring into directories that are not empty.
	Force bool
	Log   *slog.Logger

	results []restore.Result
}

var (
	_ restore.Restorer = (*Restorer)(nil)
	_ restore.Reporter = (*Restorer)(nil)
	_ restore.Planner  = (*Restorer)(nil)
)

// Source returns "paths".
func (r *Restorer) Source() string { return pathspart.SourceName }

// TargetDir says where part p is restored.
func (r *Restorer) TargetDir(p snapshot.Part) (string, error) {
	if r.Target != "" {
		return filepath.Join(r.Target, p.Name), nil
	}
	var m pathspart.Meta
	if err := json.Unmarshal(p.Meta, &m); err != nil || !filepath.IsAbs(m.Path) {
		return "", fmt.Errorf("%w: part metadata has no original path; use --paths-dir", snapshot.ErrCorrupt)
	}
	return m.Path, nil
}

// Check refuses a non-empty target unless Force.
func (r *Restorer) Check(_ context.Context, p snapshot.Part) error {
	dir, err := r.TargetDir(p)
	if err != nil {
		return err
	}
	if r.Force {
		return nil
	}
	if err := dirtar.CheckEmpty(dir); err != nil {
		if errors.Is(err, dirtar.ErrTargetNotEmpty) {
			return fmt.Errorf("%w: %w (use --force to restore over it, or choose another --paths-dir)", restore.ErrTargetNotEmpty, err)
		}
		return err
	}
	return nil
}

// Restore extracts each part's tar stream into its target directory.
func (r *Restorer) Restore(ctx context.Context, parts []snapshot.Part, open restore.Opener) error {
	for _, p := range parts {
		start := time.Now()
		if err := r.restorePart(ctx, p, open); err != nil {
			return err
		}
		if r.Log != nil {
			r.Log.Info("part restored", "source", p.Source, "part", p.Name, "raw_bytes", p.RawSize, "duration", time.Since(start).Round(time.Millisecond))
		}
	}
	return nil
}

// restorePart extracts one part; its errors name the part.
func (r *Restorer) restorePart(ctx context.Context, p snapshot.Part, open restore.Opener) error {
	dir, err := r.TargetDir(p)
	if err != nil {
		return fmt.Errorf("part %s/%s: %w", p.Source, p.Name, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	src, finish, err := open(ctx, p)
	if err != nil {
		return err
	}
	got, err := dirtar.Extract(ctx, src, dir, dirtar.ExtractOptions{Overwrite: r.Force, Owners: os.Geteuid() == 0})
	if err != nil {
		cancel() // finish releases the part without reading the rest
		_ = finish()
		return fmt.Errorf("part %s/%s: %w", p.Source, p.Name, err)
	}
	if err := finish(); err != nil {
		return err
	}
	var m pathspart.Meta
	_ = json.Unmarshal(p.Meta, &m) // without metadata the expected counts are 0 and show as a mismatch
	r.results = append(r.results,
		restore.Result{Source: p.Source, Part: p.Name, What: "files", Expected: m.Stats.Files, Found: got.Files},
		restore.Result{Source: p.Source, Part: p.Name, What: "bytes", Expected: m.Stats.Bytes, Found: got.Bytes})
	return nil
}

// Results returns the file and byte counts of the parts restored so far.
func (r *Restorer) Results() []restore.Result { return r.results }

// Plan says where each part goes; for the restore plan.
func (r *Restorer) Plan(parts []snapshot.Part) []string {
	var out []string
	for _, p := range parts {
		dir, err := r.TargetDir(p)
		if err != nil {
			out = append(out, fmt.Sprintf("paths/%s: %v", p.Name, err))
			continue
		}
		var m pathspart.Meta
		_ = json.Unmarshal(p.Meta, &m)
		verb := "extract into"
		if r.Force {
			verb = "extract over (--force: existing files replaced)"
		}
		line := fmt.Sprintf("%s %s: %d files, %s", verb, dir, m.Stats.Files, units.Bytes(m.Stats.Bytes))
		if m.Path != "" && m.Path != dir {
			line += " (taken from " + m.Path + ")"
		}
		out = append(out, line)
	}
	return out
}
