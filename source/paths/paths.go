// Package paths describes the paths source: host directories, each backed
// up as one tar part (backup/paths) and extracted into a directory or back
// where it was taken from (restore/paths).
package paths

import (
	"errors"
	"log/slog"

	"github.com/zuulstate/zuulstate/backup"
	backuppaths "github.com/zuulstate/zuulstate/backup/paths"
	"github.com/zuulstate/zuulstate/config"
	restorepaths "github.com/zuulstate/zuulstate/restore/paths"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source"
	"github.com/zuulstate/zuulstate/source/paths/pathspart"
)

// Source is the paths source's descriptor.
var Source = source.Descriptor{
	Name:        pathspart.SourceName,
	Section:     "sources.paths",
	RestoreRank: 1,
	Snapshotter: snapshotter,
	Restorer:    restorer,
	NextSteps:   func([]snapshot.Part) []source.Step { return []source.Step{source.StepMounts} },
	Drill:       drill,
}

func snapshotter(cfg *config.Config, _ *slog.Logger) (backup.Snapshotter, error) {
	if len(cfg.Sources.Paths) == 0 {
		return nil, nil
	}
	s := &backuppaths.Snapshotter{}
	for _, p := range cfg.Sources.Paths {
		s.Items = append(s.Items, backuppaths.Item{Name: p.Name, Path: p.Path, Exclude: p.Exclude})
	}
	return s, nil
}

// restorer sends the parts to --paths-dir, back where they came from
// (--original), or where the target's paths say.
func restorer(r source.RestoreRequest) (source.Restorer, error) {
	dir, original := r.PathsDir, r.Original
	if dir == "" && !original && r.Target != nil && r.Target.Paths != nil {
		dir, original = r.Target.Paths.Dir, r.Target.Paths.Original
	}
	if dir == "" && !original {
		return source.Restorer{}, source.Usage(errors.New("this snapshot has paths parts: give --paths-dir DIR or --original, set paths in the target, or leave them out with --only/--include"))
	}
	dest := "back where they were taken from"
	if dir != "" {
		dest = "directory " + dir
	}
	return source.Restorer{Restorer: &restorepaths.Restorer{Target: dir, Force: r.Force, Log: r.Log}, Destination: dest}, nil
}
