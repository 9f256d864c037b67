package dirtar

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// dir creates (or, in Overwrite mode, keeps) a directory and pushes it on
// the cursor with its metadata, applied when the archive leaves it. It is
// created owner-writable so its contents can be written first.
func (x *extractor) dir(name string, hdr *tar.Header) error {
	if name == "." {
		if _, err := x.cur.enter(x, "."); err != nil {
			return err
		}
		if x.opts.Staged {
			x.rootMeta = hdr
		} else {
			x.cur.frames[0].meta = hdr
		}
		x.stats.Dirs++
		return nil
	}
	pfd, base, err := x.parent(name)
	if err != nil {
		return err
	}
	err = x.root.Mkdir(name, 0o700)
	if errors.Is(err, fs.ErrExist) {
		err = x.keepOrReplaceDir(pfd, name, base)
	}
	if err != nil {
		return err
	}
	fd, err := openDir(pfd, base, name)
	if err != nil {
		return err
	}
	x.cur.push(frame{name: name, f: os.NewFile(uintptr(fd), name), meta: hdr})
	x.stats.Dirs++
	return nil
}

// keepOrReplaceDir handles a directory entry whose name already exists: an
// existing directory is kept (it may have been created implicitly for an
// earlier entry); anything else is replaced only in Overwrite mode.
func (x *extractor) keepOrReplaceDir(pfd int, name, base string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("lstat existing: %w", err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return nil
	}
	if !x.opts.Overwrite {
		return &os.PathError{Op: "mkdir", Path: name, Err: fs.ErrExist}
	}
	if err := x.root.Remove(name); err != nil {
		return fmt.Errorf("replace existing: %w", err)
	}
	return x.root.Mkdir(name, 0o700)
}

// file restores a regular file. O_EXCL (which never follows a symlink)
// makes a duplicate or pre-existing name an error unless
// clearSpot removed it in Overwrite mode. Metadata goes through the open
// fd, so it lands on exactly the file written.
func (x *extractor) file(tr io.Reader, name string, hdr *tar.Header) error {
	pfd, base, err := x.parent(name)
	if err != nil {
		return err
	}
	if err := x.clearSpot(pfd, name, base); err != nil {
		return err
	}
	// Created relative to the parent the cursor holds (opened component by
	// component without following symlinks), with O_EXCL|O_NOFOLLOW: as
	// safe as os.Root.OpenFile, without its walk from the root for every
	// file, which costs a syscall per path component.
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return &os.PathError{Op: "create", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	src := &ctxReader{ctx: x.ctx, r: tr}
	n := hdr.Size
	ext, sparse := sparseInfo(hdr)
	if sparse {
		err = x.writeSparse(f, src, hdr.Size, ext)
	} else {
		// Hide os.File's ReaderFrom so the copy uses our buffer.
		n, err = io.CopyBuffer(struct{ io.Writer }{f}, src, x.buf)
	}
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := x.meta(hdr, fdSink(fd),
		func() error { return unix.Fchown(fd, hdr.Uid, hdr.Gid) },
		func() error { return unix.Fchmod(fd, uint32(hdr.Mode&0o7777)) },
	); err != nil {
		return err
	}
	if err := setTimes(pfd, base, hdr, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	// A close error can be the first sign of a failed write (NFS, quota).
	if err := f.Close(); err != nil {
		return err
	}
	x.stats.Files++
	x.stats.Bytes += n
	if sparse {
		x.stats.Sparse++
	}
	return nil
}

func (x *extractor) symlink(name string, hdr *tar.Header) error {
	pfd, base, err := x.parent(name)
	if err != nil {
		return err
	}
	if err := x.clearSpot(pfd, name, base); err != nil {
		return err
	}
	if err := x.root.Symlink(hdr.Linkname, name); err != nil {
		return err
	}
	// Linux symlinks have no mode of their own, so no chmod.
	if err := x.pathMeta(pfd, name, base, hdr, nil); err != nil {
		return err
	}
	x.stats.Symlinks++
	return nil
}

// hardlink links name to the earlier entry link (both validated). The
// source's parent chain is checked too, so a link cannot pick up a file
// through a symlink directory either.
func (x *extractor) hardlink(name, link string) error {
	if name == link {
		return errors.New("hardlink to itself")
	}
	ldir, _ := splitName(link)
	if err := x.cur.checkDir(ldir); err != nil {
		return err
	}
	pfd, base, err := x.parent(name)
	if err != nil {
		return err
	}
	if err := x.clearSpot(pfd, name, base); err != nil {
		return err
	}
	if err := x.root.Link(link, name); err != nil {
		return err
	}
	x.stats.Hardlinks++
	return nil
}

// node restores FIFOs and devices. os.Root has no mknod, so they are made
// with mknodat relative to the parent fd the cursor opened. Devices need
// CAP_MKNOD; as non-root they are skipped and counted.
func (x *extractor) node(name string, hdr *tar.Header) error {
	if hdr.Typeflag != tar.TypeFifo && !x.isRoot {
		x.stats.Skipped++
		return nil
	}
	pfd, base, err := x.parent(name)
	if err != nil {
		return err
	}
	if err := x.clearSpot(pfd, name, base); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeFifo:
		err = unix.Mkfifoat(pfd, base, 0o600)
	default:
		mode := uint32(unix.S_IFCHR)
		if hdr.Typeflag == tar.TypeBlock {
			mode = unix.S_IFBLK
		}
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		err = unix.Mknodat(pfd, base, mode|0o600, int(dev))
	}
	if err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	chmod := func() error { return x.root.Chmod(name, fileMode(hdr.Mode)) }
	if err := x.pathMeta(pfd, name, base, hdr, chmod); err != nil {
		return err
	}
	x.stats.Other++
	return nil
}
