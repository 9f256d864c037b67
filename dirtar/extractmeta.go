package dirtar

import (
	"archive/tar"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// meta applies owner, xattrs and mode in the one order that keeps all of
// them: chown first, because the kernel clears setuid/setgid bits and the
// security.capability xattr on chown; xattrs next; chmod last so the exact
// mode wins (a restored POSIX ACL rewrites group bits, but the archived
// mode and ACL came from the same inode and agree). mtime is set by the
// caller after this, since each of these steps can bump ctime only.
func (x *extractor) meta(hdr *tar.Header, xs xattrSink, chown, chmod func() error) error {
	if x.opts.Owners {
		if err := chown(); err != nil {
			return fmt.Errorf("chown %d:%d: %w", hdr.Uid, hdr.Gid, err)
		}
	}
	if err := writeXattrs(hdr, xs); err != nil {
		return err
	}
	if chmod != nil {
		if err := chmod(); err != nil {
			return fmt.Errorf("chmod %#o: %w", hdr.Mode&0o7777, err)
		}
	}
	return nil
}

// pathMeta applies metadata to an entry that cannot be opened (symlink,
// FIFO, device): chown through the root without following, xattrs through
// the parent fd's /proc path, then the mtime without following.
func (x *extractor) pathMeta(pfd int, name, base string, hdr *tar.Header, chmod func() error) error {
	chown := func() error { return x.root.Lchown(name, hdr.Uid, hdr.Gid) }
	if err := x.meta(hdr, pathSink(procPath(pfd, base)), chown, chmod); err != nil {
		return err
	}
	return setTimes(pfd, base, hdr, unix.AT_SYMLINK_NOFOLLOW)
}

// dirMeta finalizes a directory through the fd the cursor held open.
func (x *extractor) dirMeta(f *os.File, hdr *tar.Header) error {
	fd := int(f.Fd())
	if err := x.meta(hdr, fdSink(fd),
		func() error { return unix.Fchown(fd, hdr.Uid, hdr.Gid) },
		func() error { return unix.Fchmod(fd, uint32(hdr.Mode&0o7777)) },
	); err != nil {
		return err
	}
	return setTimes(fd, ".", hdr, 0)
}

// setTimes sets mtime with nanoseconds (any year the kernel and filesystem
// accept, including before 1970). atime is left alone unless the archive
// carries one; Write does not store it.
func setTimes(dfd int, name string, hdr *tar.Header, flags int) error {
	mt, err := unix.TimeToTimespec(hdr.ModTime)
	if err != nil {
		return fmt.Errorf("mtime %v: %w", hdr.ModTime, err)
	}
	at := unix.Timespec{Nsec: unix.UTIME_OMIT}
	if !hdr.AccessTime.IsZero() {
		if at, err = unix.TimeToTimespec(hdr.AccessTime); err != nil {
			return fmt.Errorf("atime %v: %w", hdr.AccessTime, err)
		}
	}
	if err := unix.UtimesNanoAt(dfd, name, []unix.Timespec{at, mt}, flags); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// fileMode converts tar mode bits to an fs.FileMode for os.Root.Chmod,
// which wants Go's own flags for setuid, setgid and sticky.
func fileMode(m int64) fs.FileMode {
	fm := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		fm |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		fm |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		fm |= fs.ModeSticky
	}
	return fm
}
