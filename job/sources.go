// Package job is what zuulstate's commands do beyond parsing their flags:
// a backup with its hooks and monitoring around it, a restore from the
// configuration and the operator's choices to the verification table and
// the next steps, and the list of sources both are built from. The CLI
// (cmd/zuulstate) parses flags, calls these and maps errors to exit codes.
package job

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"

	"github.com/zuulstate/zuulstate/backup"
	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/source"
	"github.com/zuulstate/zuulstate/source/mariadb"
	"github.com/zuulstate/zuulstate/source/paths"
	"github.com/zuulstate/zuulstate/source/volumes"
	"github.com/zuulstate/zuulstate/source/zookeeper"
)

// Sources is every source zuulstate has, in the order a backup starts
// them. Adding a source adds its descriptor here (ARCHITECTURE.md).
var Sources = []source.Descriptor{paths.Source, mariadb.Source, volumes.Source, zookeeper.Source}

// inRestoreOrder returns Sources by restore rank.
func inRestoreOrder() []source.Descriptor {
	return slices.SortedStableFunc(slices.Values(Sources), func(a, b source.Descriptor) int { return cmp.Compare(a.RestoreRank, b.RestoreRank) })
}

// SourceNames lists the sources' names in restore order.
func SourceNames() []string {
	var out []string
	for _, d := range inRestoreOrder() {
		out = append(out, d.Name)
	}
	return out
}

// snapshotters builds the backup side of every configured source; log
// receives their progress.
func snapshotters(cfg *config.Config, log *slog.Logger) ([]backup.Snapshotter, error) {
	var out []backup.Snapshotter
	for _, d := range Sources {
		s, err := d.Snapshotter(cfg, log)
		if err != nil {
			return nil, err
		}
		if s != nil {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no sources configured: add sources.paths or sources.mariadb (see examples/zuulstate.yaml)", config.ErrInvalid)
	}
	return out, nil
}

// runAlone names the sources that a backup with cfg runs alone, after the
// others, in the order of Sources.
func runAlone(cfg *config.Config) []string {
	var out []string
	for _, d := range Sources {
		if d.RunsAlone != nil && d.RunsAlone(cfg) {
			out = append(out, d.Name)
		}
	}
	return out
}
