package dirtar

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// extractor carries the state of one Extract.
type extractor struct {
	ctx    context.Context
	root   *os.Root
	opts   ExtractOptions
	stats  *ExtractStats
	cur    cursor
	buf    []byte
	isRoot bool // euid 0: devices can be created
	// rootMeta holds the archive's "./" entry when Staged: it belongs to
	// the target, which only exists as such after the move.
	rootMeta *tar.Header
}

// Extract reads a tar stream from r and recreates it below target, which is
// created if missing. Without opts.Overwrite the target must be missing or
// empty; this is checked before anything is written. r is read to EOF,
// including any padding after the end-of-archive marker.
//
// Safety: every name is validated first (ErrUnsafePath for absolute names,
// ".." components, empty names, NUL bytes; the same for hardlink targets).
// All filesystem operations then go through an os.Root on the target, and
// parent directories are opened one component at a time with O_NOFOLLOW,
// so an entry is never written through a symlink, not even one the archive
// itself created and not even one pointing inside the target. Symlink
// targets are data and are restored as they are.
//
// Directory metadata (owner, xattrs, mode, mtime) is applied once the
// archive moves past the directory, so read-only directories can still be
// filled and their mtimes are not disturbed by their own contents. Only the
// directories on the current path are held, so archives whose entries for a
// directory are not contiguous (not ones written by Write) may leave that
// directory with a later mtime.
func Extract(ctx context.Context, r io.Reader, target string, opts ExtractOptions) (ExtractStats, error) {
	if opts.Staged {
		return extractStaged(ctx, r, target, opts)
	}
	if opts.Replace {
		return ExtractStats{}, errors.New("dirtar: Replace needs Staged")
	}
	if !opts.Overwrite {
		if err := CheckEmpty(target); err != nil {
			return ExtractStats{}, err
		}
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return ExtractStats{}, fmt.Errorf("dirtar: create target: %w", err)
	}
	root, err := os.OpenRoot(target)
	if err != nil {
		return ExtractStats{}, fmt.Errorf("dirtar: open target: %w", err)
	}
	defer root.Close()
	x := newExtractor(ctx, root, opts)
	err = x.run(r)
	return *x.stats, err
}

func newExtractor(ctx context.Context, root *os.Root, opts ExtractOptions) *extractor {
	x := &extractor{
		ctx:    ctx,
		root:   root,
		opts:   opts,
		stats:  &ExtractStats{},
		buf:    make([]byte, copyBufSize),
		isRoot: os.Geteuid() == 0,
	}
	x.cur.root = root
	return x
}

// run extracts the archive r into x.root.
func (x *extractor) run(r io.Reader) error {
	defer x.cur.abort()
	if err := x.cur.start(); err != nil {
		return err
	}
	tr := tar.NewReader(r)
	for {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		// With GODEBUG=tarinsecurepath=0 archive/tar flags some names
		// itself but still returns the header; cleanName rejects them
		// with our own error below.
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return fmt.Errorf("dirtar: read archive: %w", err)
		}
		if err := x.entry(tr, hdr); err != nil {
			return err
		}
	}
	if err := x.cur.finish(x); err != nil {
		return err
	}
	// Consume what follows the end-of-archive marker (GNU tar pads to a
	// 10 KiB record) so a producer piping into r is never left blocked
	// and a checksum over the whole stream sees all of it.
	if _, err := io.Copy(io.Discard, &ctxReader{ctx: x.ctx, r: r}); err != nil {
		return fmt.Errorf("dirtar: read after archive end: %w", err)
	}
	return nil
}

// entry validates and restores one archive entry.
func (x *extractor) entry(tr *tar.Reader, hdr *tar.Header) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	var link string
	if hdr.Typeflag == tar.TypeLink {
		if link, err = cleanName(hdr.Linkname); err != nil {
			return fmt.Errorf("%w (hardlink target of %q)", err, hdr.Name)
		}
		if link == "." {
			return unsafeName(hdr.Linkname, "hardlink to the target directory")
		}
	}
	if name == "." && hdr.Typeflag != tar.TypeDir {
		return unsafeName(hdr.Name, "non-directory entry for the target itself")
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		err = x.dir(name, hdr)
	case tar.TypeReg, tar.TypeGNUSparse, tar.TypeCont:
		// archive/tar expands sparse entries into a plain data stream
		// (holes read as zeros); contiguous files are ordinary files.
		err = x.file(tr, name, hdr)
	case tar.TypeSymlink:
		err = x.symlink(name, hdr)
	case tar.TypeLink:
		err = x.hardlink(name, link)
	case tar.TypeChar, tar.TypeBlock:
		if x.opts.NoDevices {
			return unsafeName(hdr.Name, "device node, and devices are not allowed")
		}
		err = x.node(name, hdr)
	case tar.TypeFifo:
		err = x.node(name, hdr)
	case tar.TypeXGlobalHeader:
		return nil // defaults for later headers, already merged by archive/tar
	default:
		err = fmt.Errorf("unsupported entry type %q", hdr.Typeflag)
	}
	var through *throughSymlinkError
	switch {
	case errors.As(err, &through):
		return unsafeName(hdr.Name, fmt.Sprintf("path goes through symlink %q", through.name))
	case err != nil:
		return fmt.Errorf("dirtar: %q: %w", hdr.Name, err)
	}
	return nil
}

// parent positions the cursor on the parent of name and returns the
// parent's fd and name's base.
func (x *extractor) parent(name string) (pfd int, base string, err error) {
	dir, base := splitName(name)
	f, err := x.cur.enter(x, dir)
	if err != nil {
		return -1, "", err
	}
	return int(f.Fd()), base, nil
}

// clearSpot makes room for a new non-directory entry in Overwrite mode:
// files, links and other non-directories are removed, an empty directory
// too; a non-empty directory is an error rather than silent data loss.
// Without Overwrite nothing is removed and creation fails on a duplicate.
func (x *extractor) clearSpot(pfd int, name, base string) error {
	if !x.opts.Overwrite {
		return nil
	}
	var st unix.Stat_t
	err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lstat existing: %w", err)
	}
	if err := x.root.Remove(name); err != nil {
		return fmt.Errorf("replace existing: %w", err)
	}
	return nil
}
