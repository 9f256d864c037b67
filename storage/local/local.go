// Package local implements storage.Store on a directory of the local file
// system. Keys map to files below the root; Put is atomic (temp file, fsync,
// rename, fsync of the directory) so a crash or an aborted upload never leaves
// a partial object under its final name.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/zuulstate/zuulstate/storage"
)

var _ storage.Store = (*Store)(nil)

// tempPrefix starts the name of every in-flight upload. The leading dot keeps
// the files out of casual ls output; List skips them by this prefix.
const tempPrefix = ".tmp-"

// IsTempName reports whether a file name (one path segment) is an in-flight
// or abandoned Put's temp file. Such files are never objects.
func IsTempName(name string) bool { return strings.HasPrefix(name, tempPrefix) }

// Store is a storage.Store rooted at a directory.
type Store struct {
	root string // absolute, cleaned
}

// New opens the store rooted at dir, which must already exist: creating it
// silently would hide a typo in the configured path.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local repository %q: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("local repository %s does not exist; create it (mkdir -p %s) or fix the path: %w",
			abs, abs, storage.ErrNoBucket)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("local repository %s: %w: %w", abs, storage.ErrAccessDenied, err)
	case err != nil:
		return nil, fmt.Errorf("local repository %s: %w", abs, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("local repository %s is not a directory: %w", abs, storage.ErrNoBucket)
	}
	return &Store{root: abs}, nil
}

// String names the root directory.
func (s *Store) String() string { return "local:" + s.root }

// path validates key and returns its file name below the root.
func (s *Store) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// checkKey adds to storage.CheckKey that segments looking like temp files
// are reserved, because List hides them.
func checkKey(key string) error {
	if err := storage.CheckKey(key); err != nil {
		return err
	}
	for seg := range strings.SplitSeq(key, "/") {
		if IsTempName(seg) {
			return fmt.Errorf("%w %q: segments starting with %q are reserved", storage.ErrInvalidKey, key, tempPrefix)
		}
	}
	return nil
}

// notExist reports a missing object. ENOTDIR counts: "a/b" is missing when
// "a" is an object, as on S3.
func notExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// mapErr wraps file system errors into the storage sentinels.
func mapErr(op, key string, err error) error {
	switch {
	case notExist(err):
		return fmt.Errorf("local %s %q: %w", op, key, storage.ErrNotFound)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("local %s %q: %w: %w", op, key, storage.ErrAccessDenied, err)
	}
	return fmt.Errorf("local %s %q: %w", op, key, err)
}

// Get opens the object's file. A directory (a key that is only a prefix of
// other keys) is not an object.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, mapErr("get", key, err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fs.ErrNotExist
		}
		return nil, mapErr("get", key, err)
	}
	return f, nil
}

// Stat returns the object's size and modification time.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, err
	}
	p, err := s.path(key)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	fi, err := os.Stat(p)
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		return storage.ObjectInfo{}, mapErr("stat", key, err)
	}
	return storage.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete removes the object, then every directory it leaves empty up to (not
// including) the root, so deleted prefixes do not pile up as empty trees.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := s.path(key)
	if err != nil {
		return err
	}
	// A directory is a prefix of other keys, not an object: nothing to delete.
	if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
		return nil
	}
	if err := os.Remove(p); err != nil && !notExist(err) {
		return mapErr("delete", key, err)
	}
	for dir := filepath.Dir(p); dir != s.root && strings.HasPrefix(dir, s.root); dir = filepath.Dir(dir) {
		// Fails (and stops) on the first directory that still has entries,
		// including another Put's temp file; that is the point.
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil //nolint:nilerr // a parent that is not empty ends the clean-up; Delete succeeded
}

// GetRange opens length bytes of the object from offset.
func (s *Store) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if offset < 0 || length < 0 {
		return nil, fmt.Errorf("local get range %q: negative offset or length", key)
	}
	rc, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	f := rc.(*os.File)
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, mapErr("get", key, err)
	}
	if offset+length > fi.Size() {
		f.Close()
		return nil, fmt.Errorf("local get %q bytes %d-%d: %w (size %d)", key, offset, offset+length, storage.ErrShortObject, fi.Size())
	}
	return sectionCloser{io.NewSectionReader(f, offset, length), f}, nil
}

type sectionCloser struct {
	*io.SectionReader
	f *os.File
}

func (s sectionCloser) Close() error { return s.f.Close() }
