package local

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SweepLeftovers removes the temp files of Puts that never finished (the
// process was killed between create and rename) last written before
// cutoff of the temp file's key. List hides them, so nothing else would.
func (s *Store) SweepLeftovers(ctx context.Context, cutoff func(key string) time.Time, dryRun bool) (int, error) {
	n := 0
	err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed meanwhile
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !IsTempName(d.Name()) {
			return nil
		}
		rel, _ := filepath.Rel(s.root, p)
		fi, err := d.Info()
		if err != nil || !fi.ModTime().Before(cutoff(filepath.ToSlash(rel))) {
			return nil //nolint:nilerr // gone meanwhile, or young: not a leftover yet
		}
		if !dryRun {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return mapErr("remove leftover", filepath.ToSlash(rel), err)
			}
			s.removeEmptyParents(p)
		}
		n++
		return nil
	})
	return n, err
}

// removeEmptyParents removes the directories above p that are empty now,
// up to the root, as Delete does: the first one with entries ends it.
func (s *Store) removeEmptyParents(p string) {
	dir := filepath.Dir(p)
	for dir != s.root && strings.HasPrefix(dir, s.root) && os.Remove(dir) == nil {
		dir = filepath.Dir(dir)
	}
}
