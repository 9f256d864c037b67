// Package dirtar streams a directory tree as a PAX tar archive and extracts
// such a stream back into a directory without ever writing outside it.
//
// It is the one place that knows how a filesystem tree becomes tar entries,
// shared by the paths source (host directories) and the Docker volume and
// bind-mount sources, so it favours fidelity and safety over brevity.
//
// Archive layout written by Write:
//
//   - the root directory itself is the first entry, named "./", so its mode,
//     owner, times and xattrs survive a round trip;
//   - every other entry is named relative to the root with forward slashes
//     and no "./" prefix ("a", "a/b"); directories end in "/";
//   - entries inside a directory are in lexical byte order, depth first, so
//     the same tree always gives the same byte stream;
//   - headers are PAX: numeric uid/gid only (Uname/Gname stay empty so ids
//     that exist on no machine still survive), mtime with nanoseconds and any
//     year, long names and link targets, and every extended attribute
//     (including POSIX ACLs, which the kernel exposes as the xattrs
//     system.posix_acl_access and system.posix_acl_default) as a
//     SCHILY.xattr.<name> record, the convention GNU tar and bsdtar read.
//
// Sparse files (fewer blocks allocated than their size needs) are stored
// as GNU PAX sparse entries, format 0.1: only the data extents that
// SEEK_DATA/SEEK_HOLE report travel, and Extract writes them back at their
// offsets, so holes stay holes in the archive and on disk (sparse.go).
//
// Known limits: sockets cannot be represented in tar and are skipped
// (counted in WriteStats.Skipped). Access and change times are not kept.
//
// Extract accepts any tar stream (not only ones written here), refuses
// unsafe names before touching the disk, and performs every operation
// through an os.Root opened on the target plus no-follow directory file
// descriptors, so neither "..", absolute names, nor symlinks created by the
// archive itself can redirect a write outside the target.
package dirtar

import (
	"errors"
	"fmt"
	"io"
	"os"
)

var (
	// ErrUnsafePath reports an archive entry (or hardlink target) whose name
	// could reach outside the extraction target, or that would be written
	// through a symlink.
	ErrUnsafePath = errors.New("dirtar: unsafe path in archive")
	// ErrTargetNotEmpty reports an extraction target that already has
	// entries while ExtractOptions.Overwrite is false.
	ErrTargetNotEmpty = errors.New("dirtar: target is not empty")
)

// WriteOptions tunes Write.
type WriteOptions struct {
	// Exclude holds path.Match globs. An entry is skipped (with its whole
	// subtree, for a directory) when a glob matches its slash path relative
	// to the root or its base name. The root itself is never excluded.
	Exclude []string
	// OnChange, if set, is called with the relative path of a file that
	// changed size or mtime while it was read, or that vanished between the
	// directory listing and its read. Both are normal for hot copies and are
	// not errors.
	OnChange func(path string)
}

// WriteStats counts what Write put into the archive. Dirs includes the
// root; Hardlinks counts the TypeLink entries (second and later names).
type WriteStats struct {
	Files, Dirs, Symlinks, Hardlinks int64
	// Other counts FIFOs and character and block devices.
	Other int64
	// Bytes is the sum of regular file contents written (not tar overhead).
	Bytes int64
	// Changed counts files that changed while read; Vanished counts entries
	// that disappeared before they could be read (they are not archived).
	Changed, Vanished int64
	// Skipped counts entries tar cannot hold (sockets).
	Skipped int64
	// Sparse counts files stored with their holes (a subset of Files).
	Sparse int64
}

// ExtractOptions tunes Extract.
type ExtractOptions struct {
	// Overwrite allows a non-empty target: existing files, symlinks and
	// other non-directories are replaced, existing directories are kept
	// (their metadata is updated from the archive). Without it the target
	// must be missing or empty.
	Overwrite bool
	// Owners restores numeric uid/gid. Callers normally set it when running
	// as root (see DefaultExtractOptions); without it entries belong to the
	// extracting user.
	Owners bool
	// Staged extracts into a hidden directory inside target (named with
	// StagingPrefix) and moves its entries into target only after the
	// whole archive was extracted. On any error, cancellation included,
	// the staging directory is removed and target is left as it was, so
	// a rejected or broken archive writes nothing to target. Leftover
	// staging directories of an interrupted earlier run are removed
	// first. Staged excludes Overwrite.
	Staged bool
	// Replace (with Staged) accepts a non-empty target and removes its
	// entries once the archive was extracted, just before the move.
	Replace bool
	// NoDevices rejects character and block device entries with
	// ErrUnsafePath instead of creating them.
	NoDevices bool
}

// DefaultExtractOptions returns options with Owners set when the process
// runs as root, the only case in which chown can succeed.
func DefaultExtractOptions() ExtractOptions {
	return ExtractOptions{Owners: os.Geteuid() == 0}
}

// ExtractStats counts what Extract created.
type ExtractStats struct {
	Files, Dirs, Symlinks, Hardlinks int64
	// Other counts FIFOs and devices.
	Other int64
	// Bytes is the sum of regular file contents written.
	Bytes int64
	// Skipped counts device entries not created because the process is
	// not root (mknod of a device needs CAP_MKNOD).
	Skipped int64
	// Sparse counts files restored with holes (a subset of Files).
	Sparse int64
}

// CheckEmpty returns nil if target does not exist or is an empty directory.
// Otherwise it returns an error wrapping ErrTargetNotEmpty that names the
// first entry found (or says the target is not a directory).
func CheckEmpty(target string) error {
	fi, err := os.Stat(target)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dirtar: check target: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s exists and is not a directory", ErrTargetNotEmpty, target)
	}
	d, err := os.Open(target)
	if err != nil {
		return fmt.Errorf("dirtar: check target: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dirtar: check target %s: %w", target, err)
	}
	return fmt.Errorf("%w: %s contains %q", ErrTargetNotEmpty, target, names[0])
}

// Record describes one archive entry before its bytes are written, so a
// RecordSink can tell whether an earlier backup already stored it.
type Record struct {
	// Path is the entry's name relative to the root ("" for the root).
	Path string
	// Size is the whole record: header blocks, content and padding.
	Size int64
	// HeaderSum is the sha256 of the header blocks, which hold the name,
	// type, mode, owners, mtime, size, link target and xattrs.
	HeaderSum [32]byte
	// Stamp tells an unchanged regular file without reading it; zero for
	// entries without content.
	Stamp FileStamp
}

// FileStamp is what a file's inode says about its content: a file whose
// size, mtime, ctime, inode and mode are the same as last time is taken to
// be unchanged (docs/VOLUMES.md says when that can miss a change).
type FileStamp struct {
	Size, MtimeNsec, CtimeNsec int64
	Inode                      uint64
	Mode                       uint32
}

// RecordSink is a Write destination that stores archives record by record
// (the deduplicating repository). Write finds it on its writer, or on the
// writer that an Unwrap() io.Writer method returns, and then announces
// every entry. ReuseFile comes first for a regular file, with only what
// lstat said: true means the sink holds the file's record from an earlier
// archive and Write does not even open the file (a change of content,
// owner, mode, xattrs or links changes ctime). Otherwise BeginRecord says
// whether the sink holds the record with these exact header bytes (Write
// then neither reads nor writes it), and EndRecord closes a record that
// was written, cacheable false when the file changed while it was read,
// so it is read again next time.
type RecordSink interface {
	io.Writer
	ReuseFile(path string, stamp FileStamp) (reused bool, err error)
	BeginRecord(Record) (reused bool, err error)
	EndRecord(cacheable bool) error
}
