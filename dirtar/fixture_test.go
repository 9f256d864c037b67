package dirtar

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// xattrProbe records which optional xattr kinds the test filesystem took,
// so their sub-checks can skip (only) on ENOTSUP.
type xattrProbe map[string]error

// fixture describes a tree built by buildTree.
type fixture struct {
	xattrs xattrProbe
	// wantXattr maps path -> attr -> value for the attrs that were set.
	wantXattr map[string]map[string]string
}

const longTarget = "very/long/symlink/target/"

// buildTree creates every kind of entry Write must keep under dir. Times
// are set last, deepest first, because creating entries bumps the mtime
// of their directories.
func buildTree(t *testing.T, dir string) *fixture {
	t.Helper()
	fx := &fixture{xattrs: xattrProbe{}, wantXattr: map[string]map[string]string{}}
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

	// Modes, including the bits chown clears (set again after chown).
	write("plain.txt", "hello\n", 0o644)
	write("setuid", "suid", 0o755|os.ModeSetuid)
	write("setgid", "sgid", 0o755|os.ModeSetgid)
	must(os.Mkdir(p("sticky"), 0o777))
	must(os.Chmod(p("sticky"), 0o777|os.ModeSticky))
	must(os.Mkdir(p("sgiddir"), 0o775))
	must(os.Chmod(p("sgiddir"), 0o775|os.ModeSetgid))

	// Owners that exist nowhere, and nobody.
	write("owned/by4242", "x", 0o640)
	must(os.Lchown(p("owned/by4242"), 4242, 4343))
	write("owned/nobody", "y", 0o600)
	must(os.Lchown(p("owned/nobody"), 65534, 65534))
	write("owned/suid4242", "z", 0o755)
	must(os.Lchown(p("owned/suid4242"), 4242, 4343))
	must(os.Chmod(p("owned/suid4242"), 0o755|os.ModeSetuid|os.ModeSetgid))
	must(os.Lchown(p("owned"), 4242, 4343))

	// Symlinks are data: relative, absolute, dangling, outside, long.
	must(os.Symlink("plain.txt", p("link-rel")))
	must(os.Symlink("/etc/passwd", p("link-abs")))
	must(os.Symlink("does/not/exist", p("link-dangling")))
	must(os.Symlink("../../outside", p("link-outside")))
	must(os.Symlink(strings.Repeat(longTarget, 40), p("link-long")))
	must(os.Lchown(p("link-rel"), 4242, 4343))

	// Hardlinks: three names of one inode, one in a subdirectory.
	write("hard/a", "shared content", 0o644)
	must(os.Link(p("hard/a"), p("hard/b")))
	must(os.MkdirAll(p("hard/sub"), 0o755))
	must(os.Link(p("hard/a"), p("hard/sub/c")))

	// Special files; the socket must be skipped.
	must(unix.Mkfifo(p("fifo"), 0o640))
	must(unix.Mknod(p("null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	ln, err := net.Listen("unix", p("sock"))
	must(err)
	t.Cleanup(func() { ln.Close() })

	// Empty directories, one read-only.
	must(os.MkdirAll(p("empty"), 0o755))
	must(os.MkdirAll(p("emptyro"), 0o555))

	// Hostile names and long paths (one component is at most 255 bytes).
	write("with space", "s", 0o644)
	write("new\nline", "n", 0o644)
	write("ctl\x01char", "c", 0o644)
	write("\xff\xfe", "invalid utf-8", 0o644)
	long := strings.Repeat("d", 200) + "/" + strings.Repeat("f", 99)
	write(long, "long", 0o644)
	write("big.bin", strings.Repeat("0123456789abcdef", 300_000), 0o644)
	write("empty.file", "", 0o644)
	// Sparse: holes before, between and after two data blocks.
	makeSparse(t, p("sparse"), 3<<20, map[int64][]byte{1 << 20: []byte(strings.Repeat("d", 4096)), 2 << 20: []byte("tail")})

	fx.setXattrs(t, dir)

	// Times: nanoseconds, before 1970, after 2038; dirs last, deepest first.
	setTime := func(rel string, tm time.Time) {
		t.Helper()
		ts, err := unix.TimeToTimespec(tm)
		must(err)
		must(unix.UtimesNanoAt(unix.AT_FDCWD, p(rel), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
	}
	setTime("plain.txt", time.Unix(1_700_000_000, 123_456_789))
	setTime("setuid", time.Unix(-1_000_000_000, 0))
	setTime("setgid", time.Unix(4_102_444_800, 987_654_321)) // 2100-01-01
	setTime("link-rel", time.Unix(1_600_000_000, 1))
	setTime("fifo", time.Unix(1_500_000_000, 999_999_999))
	for _, d := range []string{long[:200], "hard/sub", "hard", "owned", "emptyro", "empty", "sticky", "sgiddir", "."} {
		setTime(d, time.Unix(1_234_567_890, 555_000_111))
	}
	setTime("empty", time.Unix(4_102_444_800, 42)) // 2100
	return fx
}

// setXattrs sets user.*, security.*, a POSIX access ACL and default ACL,
// and trusted.* on a symlink, recording which ones the filesystem took.
func (fx *fixture) setXattrs(t *testing.T, dir string) {
	set := func(kind, rel, name string, val []byte) {
		err := unix.Lsetxattr(filepath.Join(dir, rel), name, val, 0)
		fx.xattrs[kind] = err
		if err == nil {
			if fx.wantXattr[rel] == nil {
				fx.wantXattr[rel] = map[string]string{}
			}
			fx.wantXattr[rel][name] = string(val)
		} else if !errors.Is(err, unix.ENOTSUP) {
			t.Fatalf("setxattr %s on %s: %v", name, rel, err)
		}
	}
	set("user", "plain.txt", "user.zuul", []byte("value\x00with NUL"))
	set("user-dir", "empty", "user.dir", []byte("d"))
	set("security", "setgid", "security.zuultest", []byte("s"))
	set("trusted-symlink", "link-abs", "trusted.zuul", []byte("t"))
	// user_obj rw, user 4242 r, group_obj r, mask r, other none: mode 0640.
	set("acl-access", "owned/by4242", "system.posix_acl_access", aclXattr(
		aclEntry{0x01, 6, 0xffffffff}, aclEntry{0x02, 4, 4242},
		aclEntry{0x04, 4, 0xffffffff}, aclEntry{0x10, 4, 0xffffffff},
		aclEntry{0x20, 0, 0xffffffff}))
	set("acl-default", "sgiddir", "system.posix_acl_default", aclXattr(
		aclEntry{0x01, 7, 0xffffffff}, aclEntry{0x04, 5, 0xffffffff},
		aclEntry{0x08, 5, 4343}, aclEntry{0x10, 7, 0xffffffff},
		aclEntry{0x20, 5, 0xffffffff}))
}

type aclEntry struct {
	tag, perm uint16
	id        uint32
}

// aclXattr encodes the kernel's posix_acl_xattr format (version 2).
func aclXattr(entries ...aclEntry) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 2)
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint16(b, e.tag)
		b = binary.LittleEndian.AppendUint16(b, e.perm)
		b = binary.LittleEndian.AppendUint32(b, e.id)
	}
	return b
}
