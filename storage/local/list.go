package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/zuulstate/zuulstate/storage"
)

// List calls fn for every object whose key starts with prefix, in lexical key
// order, skipping temp files.
//
// filepath.WalkDir is not enough: it orders by name within a directory, but
// the key "a/b" sorts after "a-c" ('/' > '-') although WalkDir visits the
// directory "a" first. walk therefore sorts each directory's entries by the
// key prefix they stand for: a file's name, or a directory's name plus "/".
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	err := s.walk(ctx, s.root, "", prefix, fn)
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// errStop is never returned; it marks the end of a walk that cannot matter.
var errStop = errors.New("stop")

type entry struct {
	sortKey string // name, or name + "/" for directories
	de      fs.DirEntry
}

// walk lists dir, whose key prefix is base ("" for the root or "x/y/").
func (s *Store) walk(ctx context.Context, dir, base, prefix string, fn func(storage.ObjectInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist) && base != "":
			return nil // removed by a concurrent Delete: nothing to list
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("local list: root %s has disappeared: %w", s.root, storage.ErrNoBucket)
		}
		return mapErr("list", base, err)
	}
	ents := make([]entry, 0, len(des))
	for _, de := range des {
		if IsTempName(de.Name()) {
			continue
		}
		k := de.Name()
		if de.IsDir() {
			k += "/"
		}
		ents = append(ents, entry{sortKey: k, de: de})
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].sortKey < ents[j].sortKey })

	for _, e := range ents {
		key := base + e.sortKey
		switch {
		case strings.HasPrefix(key, prefix):
			// Every key below matches.
		case strings.HasPrefix(prefix, key) && e.de.IsDir():
			// The prefix reaches into this directory.
		case key > prefix:
			return errStop // sorted: nothing further can match
		default:
			continue
		}
		if e.de.IsDir() {
			if err := s.walk(ctx, filepath.Join(dir, e.de.Name()), key, prefix, fn); err != nil {
				return err
			}
			continue
		}
		if !e.de.Type().IsRegular() {
			continue // symlinks, sockets: not objects we wrote
		}
		fi, err := e.de.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted since ReadDir
		}
		if err != nil {
			return mapErr("list", key, err)
		}
		if err := fn(storage.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}
