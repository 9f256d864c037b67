package dirtar

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// header builds a PAX header from raw stat data rather than
// tar.FileInfoHeader, which would look up user and group names (we want
// numeric ids only) and cannot see xattrs. Format PAX is set explicitly:
// otherwise archive/tar rounds mtime to whole seconds.
func header(name string, typ byte, st *unix.Stat_t, xattrs map[string]string) *tar.Header {
	sec, nsec := st.Mtim.Unix()
	return &tar.Header{
		Typeflag:   typ,
		Name:       name,
		Mode:       int64(st.Mode & 0o7777),
		Uid:        int(st.Uid),
		Gid:        int(st.Gid),
		ModTime:    time.Unix(sec, nsec),
		PAXRecords: xattrs,
		Format:     tar.FormatPAX,
	}
}

// hardlink writes a TypeLink entry if st is an inode already archived under
// another name. It reports done=false for a first occurrence, which the
// caller archives in full and then registers with remember.
func (wk *walker) hardlink(rel string, st *unix.Stat_t) (done bool, err error) {
	id := fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
	seen, ok := wk.links[id]
	if !ok {
		return false, nil
	}
	hdr := header(rel, tar.TypeLink, st, nil)
	hdr.Linkname = seen.name
	if err := wk.emitHeader(rel, hdr); err != nil {
		return true, entryErr(rel, err)
	}
	wk.stats.Hardlinks++
	// Forget the inode once every link was seen so the map only holds
	// inodes whose other names are still ahead (or outside the tree).
	if seen.left--; seen.left == 0 {
		delete(wk.links, id)
	}
	return true, nil
}

func (wk *walker) remember(rel string, st *unix.Stat_t) {
	if st.Nlink > 1 {
		id := fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
		wk.links[id] = &linkSeen{name: rel, left: uint64(st.Nlink) - 1}
	}
}

// openRead opens a regular file for reading. O_NOFOLLOW and O_NONBLOCK
// make a file swapped for a symlink or FIFO since the listing fail or
// return at once instead of escaping or hanging; O_NOATIME keeps a backup
// from touching atimes but is only allowed to the owner or root.
func openRead(dfd int, base string) (int, error) {
	flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC
	fd, err := unix.Openat(dfd, base, flags|unix.O_NOATIME, 0)
	if errors.Is(err, unix.EPERM) {
		fd, err = unix.Openat(dfd, base, flags, 0)
	}
	return fd, err
}

// file archives a regular file. tar needs the size up front, so the size
// seen at open is authoritative: a file that shrinks is padded with zeros,
// one that grows is cut at that size, and either way (or on an mtime
// change) it is reported as changed rather than failing the backup. With a
// RecordSink, a file whose header and stamp match what the sink holds is
// not read at all.
func (wk *walker) file(dfd int, rel, base string) error {
	fd, err := openRead(dfd, base)
	if err != nil {
		if replaced(err) || errors.Is(err, unix.ENXIO) {
			wk.vanished(rel)
			return nil
		}
		return entryErr(rel, fmt.Errorf("open: %w", err))
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return entryErr(rel, fmt.Errorf("stat: %w", err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		wk.vanished(rel) // replaced by another kind of file
		return nil
	}
	x, err := readXattrs(fdXattrs(fd))
	if err != nil {
		return entryErr(rel, err)
	}
	hdr := header(rel, tar.TypeReg, &st, x)
	hdr.Size = st.Size
	head, size, sparse, write, err := wk.fileRecord(f, hdr, &st)
	if err != nil {
		return entryErr(rel, err)
	}
	changed := false
	_, err = wk.emit(rel, head, size, stampOf(&st), func(w io.Writer) (bool, error) {
		short, err := write(w)
		if err != nil {
			return false, err
		}
		var after unix.Stat_t
		if err := unix.Fstat(fd, &after); err != nil {
			return false, fmt.Errorf("stat: %w", err)
		}
		changed = short || after.Size != st.Size || after.Mtim != st.Mtim
		return !changed && after.Ctim == st.Ctim, nil
	})
	if err != nil {
		return entryErr(rel, err)
	}
	if changed {
		wk.stats.Changed++
		if wk.opts.OnChange != nil {
			wk.opts.OnChange(rel)
		}
	}
	if sparse {
		wk.stats.Sparse++
	}
	wk.stats.Files++
	wk.stats.Bytes += st.Size
	wk.remember(rel, &st)
	return nil
}

// fileRecord prepares a regular file's record: sparse when it has fewer
// blocks allocated than its size implies and the filesystem can list its
// holes, dense otherwise. write stores the content and reports whether
// fewer bytes could be read than announced (zeros were stored instead).
func (wk *walker) fileRecord(f *os.File, hdr *tar.Header, st *unix.Stat_t) (head []byte, size int64, sparse bool, write func(io.Writer) (short bool, err error), err error) {
	if st.Size > 0 && st.Blocks*512 < st.Size {
		ext, ok, err := dataExtents(int(f.Fd()), st.Size)
		if err != nil {
			return nil, 0, false, nil, err
		}
		if ok {
			head, size, err := sparseHeader(hdr, ext)
			return head, size, true, func(w io.Writer) (bool, error) { return wk.sparseData(w, f, ext) }, err
		}
	}
	head, err = headerBlocks(hdr)
	return head, st.Size, false, func(w io.Writer) (bool, error) {
		// A section reader (pread) is immune to the offset the hole probe
		// moved, and hides os.File's WriterTo so the copy goes through
		// ctxReader and our buffer.
		src := &ctxReader{ctx: wk.ctx, r: io.NewSectionReader(f, 0, st.Size)}
		n, err := io.CopyBuffer(struct{ io.Writer }{w}, src, wk.buf)
		if err != nil {
			return false, fmt.Errorf("read: %w", err)
		}
		if n < st.Size {
			return true, wk.zeros(w, st.Size-n)
		}
		return false, nil
	}, err
}

// special archives symlinks, FIFOs and devices: header-only entries whose
// xattrs can only be read by path (there is no fd to ask).
func (wk *walker) special(dfd int, rel, base string, st *unix.Stat_t) error {
	var hdr *tar.Header
	x, err := readXattrs(pathXattrs(procPath(dfd, base)))
	if errors.Is(err, unix.ENOENT) {
		// Either the entry vanished, or /proc is not mounted; only the
		// first is a normal hot-copy event.
		var again unix.Stat_t
		if unix.Fstatat(dfd, base, &again, unix.AT_SYMLINK_NOFOLLOW) == nil {
			return entryErr(rel, fmt.Errorf("xattrs via /proc (is it mounted?): %w", err))
		}
		wk.vanished(rel)
		return nil
	}
	if err != nil {
		return entryErr(rel, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		target, err := readlinkat(dfd, base)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL) {
			wk.vanished(rel) // gone, or no longer a symlink
			return nil
		}
		if err != nil {
			return entryErr(rel, fmt.Errorf("readlink: %w", err))
		}
		hdr = header(rel, tar.TypeSymlink, st, x)
		hdr.Linkname = target
		wk.stats.Symlinks++
	case unix.S_IFIFO:
		hdr = header(rel, tar.TypeFifo, st, x)
		wk.stats.Other++
	default:
		typ := byte(tar.TypeChar)
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			typ = tar.TypeBlock
		}
		hdr = header(rel, typ, st, x)
		hdr.Devmajor = int64(unix.Major(uint64(st.Rdev)))
		hdr.Devminor = int64(unix.Minor(uint64(st.Rdev)))
		wk.stats.Other++
	}
	if err := wk.emitHeader(rel, hdr); err != nil {
		return entryErr(rel, err)
	}
	wk.remember(rel, st)
	return nil
}

// readlinkat reads a symlink target of any length (PAX stores long ones).
func readlinkat(dfd int, base string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dfd, base, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// stampOf is what tells an unchanged regular file (FileStamp).
func stampOf(st *unix.Stat_t) FileStamp {
	return FileStamp{Size: st.Size, MtimeNsec: st.Mtim.Nano(), CtimeNsec: st.Ctim.Nano(), Inode: st.Ino, Mode: st.Mode}
}
