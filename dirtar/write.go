package dirtar

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/zuulstate/zuulstate/internal/unwrap"
)

// copyBufSize is the per-Write copy buffer: large enough that syscalls do
// not dominate on big files, allocated once per Write, not per file.
const copyBufSize = 1 << 20

// walker carries the state of one Write. Memory stays flat: the names of
// the directories on the current path (one listing per depth level), one
// copy buffer, and the first-seen name of each multiply-linked inode until
// all of its links inside the tree were seen.
type walker struct {
	ctx   context.Context
	w     io.Writer
	sink  RecordSink // nil unless w stores archives record by record
	opts  WriteOptions
	ex    excluder
	stats *WriteStats
	links map[fileID]*linkSeen
	buf   []byte
}

type fileID struct{ dev, ino uint64 }

type linkSeen struct {
	name string // archive name of the first occurrence
	left uint64 // links still expected; the entry is dropped at zero
}

// Write streams the tree at root to w as a PAX tar archive (layout in the
// package comment). root itself may be a symlink to a directory, since a
// configured path often is; nothing below root is ever followed. Failing to
// read an entry that still exists is an error; entries that vanish or
// change while read are counted and reported through opts.OnChange.
func Write(ctx context.Context, w io.Writer, root string, opts WriteOptions) (WriteStats, error) {
	var stats WriteStats
	ex, err := newExcluder(opts.Exclude)
	if err != nil {
		return stats, err
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return stats, fmt.Errorf("dirtar: open root: %w", &os.PathError{Op: "open", Path: root, Err: err})
	}
	dir := os.NewFile(uintptr(fd), root)
	defer dir.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return stats, fmt.Errorf("dirtar: stat root %s: %w", root, err)
	}
	sink, _ := unwrap.Find[RecordSink](w)
	wk := &walker{
		ctx:   ctx,
		w:     w,
		sink:  sink,
		opts:  opts,
		ex:    ex,
		stats: &stats,
		links: make(map[fileID]*linkSeen),
		buf:   make([]byte, copyBufSize),
	}
	if err := wk.dir(dir, "", &st); err != nil {
		return stats, err
	}
	if err := wk.endOfArchive(); err != nil {
		return stats, fmt.Errorf("dirtar: finish archive: %w", err)
	}
	return stats, nil
}

// dir archives an open directory and, depth first, everything below it.
// rel is "" for the root.
func (wk *walker) dir(d *os.File, rel string, st *unix.Stat_t) error {
	name := "./"
	if rel != "" {
		name = rel + "/"
	}
	x, err := readXattrs(fdXattrs(int(d.Fd())))
	if err != nil {
		return entryErr(rel, err)
	}
	if err := wk.emitHeader(rel, header(name, tar.TypeDir, st, x)); err != nil {
		return entryErr(rel, err)
	}
	wk.stats.Dirs++
	names, err := d.Readdirnames(-1)
	if err != nil {
		return entryErr(rel, fmt.Errorf("read directory: %w", err))
	}
	slices.Sort(names)
	for _, n := range names {
		if err := wk.ctx.Err(); err != nil {
			return err
		}
		crel := n
		if rel != "" {
			crel = rel + "/" + n
		}
		if wk.ex.match(crel, n) {
			continue
		}
		if err := wk.child(int(d.Fd()), crel, n); err != nil {
			return err
		}
	}
	return nil
}

// child archives one directory entry found by name in the directory dfd.
func (wk *walker) child(dfd int, rel, base string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			wk.vanished(rel)
			return nil
		}
		return entryErr(rel, fmt.Errorf("lstat: %w", err))
	}
	typ := st.Mode & unix.S_IFMT
	if typ == unix.S_IFSOCK {
		wk.stats.Skipped++
		return nil
	}
	if typ != unix.S_IFDIR && st.Nlink > 1 {
		if done, err := wk.hardlink(rel, &st); done || err != nil {
			return err
		}
	}
	switch typ {
	case unix.S_IFDIR:
		return wk.subdir(dfd, rel, base)
	case unix.S_IFREG:
		if wk.sink != nil {
			reused, err := wk.sink.ReuseFile(rel, stampOf(&st))
			if err != nil {
				return entryErr(rel, err)
			}
			if reused {
				wk.stats.Files++
				wk.stats.Bytes += st.Size
				wk.remember(rel, &st)
				return nil
			}
		}
		return wk.file(dfd, rel, base)
	case unix.S_IFLNK, unix.S_IFIFO, unix.S_IFCHR, unix.S_IFBLK:
		return wk.special(dfd, rel, base, &st)
	default:
		return entryErr(rel, fmt.Errorf("unknown file type %#o", typ))
	}
}

// subdir opens a child directory without following a symlink that may
// have replaced it since the listing, and recurses.
func (wk *walker) subdir(dfd int, rel, base string) error {
	fd, err := unix.Openat(dfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if replaced(err) {
			wk.vanished(rel)
			return nil
		}
		return entryErr(rel, fmt.Errorf("open: %w", err))
	}
	d := os.NewFile(uintptr(fd), rel)
	defer d.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return entryErr(rel, fmt.Errorf("stat: %w", err))
	}
	return wk.dir(d, rel, &st)
}

// replaced reports open errors meaning the entry is gone or is no longer
// the type seen in the listing (a hot tree): ENOENT, a symlink refused by
// O_NOFOLLOW (ELOOP), or a directory turned into something else (ENOTDIR).
func replaced(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR)
}

func (wk *walker) vanished(rel string) {
	wk.stats.Vanished++
	if wk.opts.OnChange != nil {
		wk.opts.OnChange(rel)
	}
}

// entryErr names the entry; names may hold control characters, hence %q.
func entryErr(rel string, err error) error {
	if rel == "" {
		rel = "."
	}
	return fmt.Errorf("dirtar: %q: %w", rel, err)
}
