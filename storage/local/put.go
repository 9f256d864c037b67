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
	"time"
)

// Put writes r to a temp file next to the final name and renames it into
// place, so readers see the old object or the complete new one, never a
// prefix. The file and every directory entry that changed are fsynced before
// Put returns, so a power loss after a successful Put cannot lose the object.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (err error) {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	f, err := s.createTemp(ctx, dir)
	if err != nil {
		return mapErr("put", key, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close() // may already be closed; the error is irrelevant then
			os.Remove(tmp)
		}
	}()

	// A 1 MiB buffer instead of io.Copy's 32 KiB: a large part then costs
	// a few thousand write calls instead of tens of thousands.
	buf := make([]byte, 1<<20)
	if _, err = io.CopyBuffer(struct{ io.Writer }{f}, ctxReader{ctx: ctx, r: r}, buf); err != nil {
		return mapErr("put", key, err)
	}
	if err = f.Sync(); err != nil {
		return mapErr("put", key, err)
	}
	if err = f.Close(); err != nil {
		return mapErr("put", key, err)
	}
	// Last chance to honour a cancellation: after the rename the object is
	// visible and the Put has happened.
	if err = ctx.Err(); err != nil {
		return err
	}
	if err = os.Rename(tmp, p); err != nil {
		return mapErr("put", key, err)
	}
	if err = syncDir(dir); err != nil {
		return mapErr("put", key, err)
	}
	return nil
}

// createTemp makes the key's directories and a temp file in the innermost one.
// A concurrent Delete may remove a just-created empty directory before the
// temp file exists in it, so a vanished directory is recreated a few times.
func (s *Store) createTemp(ctx context.Context, dir string) (*os.File, error) {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.mkdirs(dir); err != nil {
			return nil, err
		}
		f, err := os.CreateTemp(dir, tempPrefix+"*")
		if err == nil || !errors.Is(err, fs.ErrNotExist) || attempt == 20 {
			return f, err
		}
		// Many writers and deleters of one prefix (locks/ under a burst
		// of runs) can win this race several times in a row.
		time.Sleep(time.Duration(attempt) * time.Millisecond)
	}
}

// mkdirs creates dir and its missing parents below the root, fsyncing each
// new directory's parent so the new entries survive a crash. Directories are
// private (0700) because backups hold secrets.
func (s *Store) mkdirs(dir string) error {
	rel, err := filepath.Rel(s.root, dir)
	if err != nil || rel == "." {
		return err
	}
	parent := s.root
	for seg := range strings.SplitSeq(rel, string(filepath.Separator)) {
		cur := filepath.Join(parent, seg)
		err := os.Mkdir(cur, 0o700)
		switch {
		case err == nil:
			if err := syncDir(parent); err != nil {
				return err
			}
		case !errors.Is(err, fs.ErrExist):
			return err
		}
		parent = cur
	}
	return nil
}

// syncDir fsyncs a directory so that entries created or renamed in it are
// durable, not just the files' contents.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return d.Close()
}

// ctxReader fails reads once ctx is done, so a cancelled Put stops even when
// the source keeps producing data.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
