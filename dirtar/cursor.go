package dirtar

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// cursor is the chain of open directories from the target down to the
// parent of the entry being extracted. Holding fds along the path means
// consecutive entries in one directory cost no path walk, each component
// is opened exactly once with O_NOFOLLOW (so a symlink anywhere in a
// parent path is refused, not followed, even one inside the target), and
// a directory's archive metadata can be applied the moment we leave it.
type cursor struct {
	root   *os.Root
	frames []frame
}

type frame struct {
	name string      // cleaned path, "." for the target
	f    *os.File    // the directory, opened without following symlinks
	meta *tar.Header // archive entry to apply on leaving; nil if implicit
}

// throughSymlinkError reports a parent path component that is a symlink.
// Extract turns it into ErrUnsafePath naming the offending entry.
type throughSymlinkError struct{ name string }

func (e *throughSymlinkError) Error() string {
	return fmt.Sprintf("parent %q is a symlink", e.name)
}

func (c *cursor) start() error {
	f, err := c.root.Open(".")
	if err != nil {
		return fmt.Errorf("dirtar: open target: %w", err)
	}
	c.frames = []frame{{name: ".", f: f}}
	return nil
}

func (c *cursor) top() *frame { return &c.frames[len(c.frames)-1] }

// enter makes dir (cleaned) the top of the cursor: directories not on its
// path are finalized and closed, missing ones are created with default
// permissions (the archive may name a file before, or without, its
// directory entry).
func (c *cursor) enter(x *extractor, dir string) (*os.File, error) {
	for len(c.frames) > 1 && !within(c.top().name, dir) {
		if err := c.pop(x); err != nil {
			return nil, err
		}
	}
	for top := c.top(); top.name != dir; top = c.top() {
		rest := dir
		if top.name != "." {
			rest = dir[len(top.name)+1:]
		}
		comp, _, _ := strings.Cut(rest, "/")
		child := comp
		if top.name != "." {
			child = top.name + "/" + comp
		}
		fd, err := openDir(int(top.f.Fd()), comp, child)
		if errors.Is(err, unix.ENOENT) {
			if err := c.root.Mkdir(child, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return nil, err
			}
			fd, err = openDir(int(top.f.Fd()), comp, child)
		}
		if err != nil {
			return nil, err
		}
		c.push(frame{name: child, f: os.NewFile(uintptr(fd), child)})
	}
	return c.top().f, nil
}

// openDir opens directory base in dfd without following a symlink. name
// is base's path from the target, for errors.
func openDir(dfd int, base, name string) (int, error) {
	fd, err := unix.Openat(dfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == nil {
		return fd, nil
	}
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		var st unix.Stat_t
		if unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return -1, &throughSymlinkError{name: name}
		}
	}
	return -1, &os.PathError{Op: "open directory", Path: name, Err: err}
}

// checkDir verifies that dir exists as a real directory chain (no symlink
// components) without moving the cursor; used for hardlink sources.
func (c *cursor) checkDir(dir string) error {
	if dir == "." {
		return nil
	}
	fd := int(c.frames[0].f.Fd())
	done := ""
	for comp := range strings.SplitSeq(dir, "/") {
		if done == "" {
			done = comp
		} else {
			done += "/" + comp
		}
		next, err := openDir(fd, comp, done)
		if fd != int(c.frames[0].f.Fd()) {
			unix.Close(fd)
		}
		if err != nil {
			return err
		}
		fd = next
	}
	return unix.Close(fd)
}

func (c *cursor) push(fr frame) { c.frames = append(c.frames, fr) }

// pop finalizes and closes the top directory.
func (c *cursor) pop(x *extractor) error {
	fr := c.frames[len(c.frames)-1]
	c.frames = c.frames[:len(c.frames)-1]
	var err error
	if fr.meta != nil {
		err = x.dirMeta(fr.f, fr.meta)
		if err != nil {
			err = fmt.Errorf("finish directory %q: %w", fr.meta.Name, err)
		}
	}
	return errors.Join(err, fr.f.Close())
}

// finish finalizes every open directory, deepest first, the target last.
func (c *cursor) finish(x *extractor) error {
	for len(c.frames) > 0 {
		if err := c.pop(x); err != nil {
			return fmt.Errorf("dirtar: %w", err)
		}
	}
	return nil
}

// abort closes what is still open after an error, applying no metadata.
func (c *cursor) abort() {
	for _, fr := range c.frames {
		fr.f.Close()
	}
	c.frames = nil
}
