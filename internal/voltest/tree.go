package voltest

import (
	"crypto/sha256"
	"encoding/binary"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// LongPath is a path in the torture tree longer than 255 bytes.
var LongPath = strings.Repeat("d", 200) + "/" + strings.Repeat("f", 99)

// BuildTree fills dir (a volume mountpoint or bind path) with every kind of
// entry and attribute a volume must keep: modes with setuid/setgid/sticky,
// owners that exist nowhere, mtimes with nanoseconds before 1970 and after
// 2038, symlinks of every kind, hardlinks, a FIFO, a device node, empty
// directories, hostile names, a path over 255 bytes, user.* and security.*
// xattrs, POSIX ACLs (as their system.posix_acl_* xattrs, so setfacl is not
// needed) and a sparse file of sparseSize bytes with three data blocks.
// Needs root.
func BuildTree(t testing.TB, dir string, sparseSize int64) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	p := func(rel string) string { return filepath.Join(dir, rel) }
	write := func(rel, content string, mode os.FileMode) {
		t.Helper()
		must(os.MkdirAll(filepath.Dir(p(rel)), 0o755))
		must(os.WriteFile(p(rel), []byte(content), 0o600))
		must(os.Chmod(p(rel), mode))
	}
	write("plain.txt", "hello\n", 0o644)
	write("setuid", "suid", 0o755|os.ModeSetuid)
	write("setgid", "sgid", 0o755|os.ModeSetgid)
	must(os.Mkdir(p("sticky"), 0o777))
	must(os.Chmod(p("sticky"), 0o777|os.ModeSticky))
	must(os.Mkdir(p("sgiddir"), 0o775))
	must(os.Chmod(p("sgiddir"), 0o775|os.ModeSetgid))
	write("owned/by4242", "x", 0o640)
	must(os.Lchown(p("owned/by4242"), 4242, 4343))
	write("owned/suid4242", "z", 0o755)
	must(os.Lchown(p("owned/suid4242"), 4242, 4343))
	must(os.Chmod(p("owned/suid4242"), 0o755|os.ModeSetuid|os.ModeSetgid))
	must(os.Lchown(p("owned"), 4242, 4343))
	must(os.Symlink("plain.txt", p("link-rel")))
	must(os.Symlink("/etc/passwd", p("link-abs")))
	must(os.Symlink("does/not/exist", p("link-dangling")))
	must(os.Symlink("../../outside", p("link-outside")))
	must(os.Symlink(strings.Repeat("long/symlink/target/", 50), p("link-long")))
	must(os.Lchown(p("link-rel"), 4242, 4343))
	write("hard/a", "shared content", 0o644)
	must(os.Link(p("hard/a"), p("hard/b")))
	must(os.MkdirAll(p("hard/sub"), 0o755))
	must(os.Link(p("hard/a"), p("hard/sub/c")))
	must(unix.Mkfifo(p("fifo"), 0o640))
	must(unix.Mknod(p("null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(os.MkdirAll(p("empty"), 0o755))
	must(os.MkdirAll(p("emptyro"), 0o555))
	write("with space", "s", 0o644)
	write("new\nline", "n", 0o644)
	write("ctl\x01char", "c", 0o644)
	write("\xff\xfe", "invalid utf-8", 0o644)
	write(LongPath, "long", 0o644)
	write("big.bin", strings.Repeat("0123456789abcdef", 300_000), 0o644)
	write("empty.file", "", 0o644)
	// docker attach's detach keys (ctrl-p ctrl-q): the API restore streams
	// over attach and must pass them through as data.
	write("detach-keys", "\x10\x11 and \x10\x11\x10", 0o644)
	sparse(t, p("sparse"), sparseSize)

	xattr := func(rel, name string, val []byte) {
		t.Helper()
		must(unix.Lsetxattr(p(rel), name, val, 0))
	}
	xattr("plain.txt", "user.zuul", []byte("value\x00with NUL"))
	xattr("empty", "user.dir", []byte("d"))
	xattr("setgid", "security.zuultest", []byte("s"))
	// user_obj rw, user 4242 r, group_obj r, mask r, other none.
	xattr("owned/by4242", "system.posix_acl_access", acl(
		[3]uint32{0x01, 6, ^uint32(0)}, [3]uint32{0x02, 4, 4242}, [3]uint32{0x04, 4, ^uint32(0)},
		[3]uint32{0x10, 4, ^uint32(0)}, [3]uint32{0x20, 0, ^uint32(0)}))
	xattr("sgiddir", "system.posix_acl_default", acl(
		[3]uint32{0x01, 7, ^uint32(0)}, [3]uint32{0x04, 5, ^uint32(0)}, [3]uint32{0x08, 5, 4343},
		[3]uint32{0x10, 7, ^uint32(0)}, [3]uint32{0x20, 5, ^uint32(0)}))

	setTime := func(rel string, tm time.Time) {
		t.Helper()
		ts, err := unix.TimeToTimespec(tm)
		must(err)
		must(unix.UtimesNanoAt(unix.AT_FDCWD, p(rel), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
	}
	setTime("plain.txt", time.Unix(1_700_000_000, 123_456_789))
	setTime("setuid", time.Unix(-1_000_000_000, 0))
	setTime("setgid", time.Unix(4_102_444_800, 987_654_321)) // 2100
	setTime("link-rel", time.Unix(1_600_000_000, 1))
	setTime("fifo", time.Unix(1_500_000_000, 999_999_999))
	for _, d := range []string{LongPath[:200], "hard/sub", "hard", "owned", "emptyro", "sticky", "sgiddir", "."} {
		setTime(d, time.Unix(1_234_567_890, 555_000_111))
	}
	setTime("empty", time.Unix(4_102_444_800, 42))
}

// sparse writes a file of size bytes with 4 KiB of data at the start, in
// the middle and at the end, holes elsewhere.
func sparse(t testing.TB, p string, size int64) {
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	blk := []byte(strings.Repeat("sparse!!", 512))
	for _, off := range []int64{0, size / 2 &^ 4095, size - 4096} {
		if _, err := f.WriteAt(blk, off); err != nil {
			t.Fatal(err)
		}
	}
}

func acl(entries ...[3]uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 2)
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint16(b, uint16(e[0]))
		b = binary.LittleEndian.AppendUint16(b, uint16(e[1]))
		b = binary.LittleEndian.AppendUint32(b, e[2])
	}
	return b
}

// Entry is what a round trip must keep about one entry.
type Entry struct {
	Mode, UID, GID uint32
	Mtime          unix.Timespec
	Size, Blocks   int64 // Blocks for regular files only
	Rdev, Ino      uint64
	Sum            [32]byte
	Link           string
	Xattrs         map[string]string
}

// Scan lstat-walks dir, never following symlinks, and returns its entries
// by relative path ("." is dir itself). Staging leftovers would show.
func Scan(t testing.TB, dir string) map[string]Entry {
	t.Helper()
	out := map[string]Entry{}
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return err
		}
		e := Entry{Mode: st.Mode, UID: st.Uid, GID: st.Gid, Mtime: st.Mtim, Rdev: st.Rdev, Ino: st.Ino, Xattrs: xattrs(t, path)}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			e.Size, e.Blocks, e.Sum = st.Size, st.Blocks, sum(t, path)
		case unix.S_IFLNK:
			e.Link, err = os.Readlink(path)
		}
		out[rel] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sum(t testing.TB, p string) [32]byte {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

func xattrs(t testing.TB, p string) map[string]string {
	m := map[string]string{}
	sz, err := unix.Llistxattr(p, nil)
	if err != nil || sz == 0 {
		return m
	}
	buf := make([]byte, sz)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		vsz, err := unix.Lgetxattr(p, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		v := make([]byte, vsz)
		if _, err := unix.Lgetxattr(p, name, v); err != nil {
			t.Fatal(err)
		}
		m[name] = string(v)
	}
	return m
}
