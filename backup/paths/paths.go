// Package paths is the backup source for host directories: each configured
// directory becomes one part, a tar stream written by dirtar.
package paths

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/zuulstate/zuulstate/backup"
	"github.com/zuulstate/zuulstate/dirtar"
	"github.com/zuulstate/zuulstate/source/paths/pathspart"
)

// Item is one directory to back up.
type Item struct {
	Name    string
	Path    string
	Exclude []string
}

// Snapshotter backs up host directories.
type Snapshotter struct{ Items []Item }

var _ backup.Snapshotter = (*Snapshotter)(nil)

// Source returns "paths".
func (s *Snapshotter) Source() string { return pathspart.SourceName }

// Snapshot checks every directory first, so a typo fails the run before
// anything is written, then streams each one as a tar part.
func (s *Snapshotter) Snapshot(ctx context.Context, sink backup.PartSink) error {
	if len(s.Items) == 0 {
		return backup.ErrEmptySource
	}
	for _, it := range s.Items {
		fi, err := os.Stat(it.Path)
		if err != nil {
			return fmt.Errorf("%s: %w", it.Name, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s: %s is not a directory", it.Name, it.Path)
		}
	}
	for _, it := range s.Items {
		err := sink.WritePart(ctx, it.Name, func(ctx context.Context, w io.Writer) (any, error) {
			stats, err := dirtar.Write(ctx, w, it.Path, dirtar.WriteOptions{Exclude: it.Exclude})
			return pathspart.Meta{Path: it.Path, Exclude: it.Exclude, Stats: stats}, err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
