package dirtar

import (
	"bytes"
	"crypto/sha256"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// entryInfo is everything the round trip must preserve about one entry.
type entryInfo struct {
	mode       uint32
	uid, gid   uint32
	mtime      unix.Timespec
	size       int64
	blocks     int64 // allocated, regular files only: holes must stay holes
	rdev       uint64
	nlink      uint64
	ino        uint64
	sum        [32]byte
	linkTarget string
	xattrs     map[string]string
}

// scanTree lstat-walks dir (never following symlinks) and returns each
// entry by relative path. Sockets are left out: tar cannot hold them.
func scanTree(t *testing.T, dir string) map[string]entryInfo {
	t.Helper()
	out := map[string]entryInfo{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFSOCK {
			return nil
		}
		e := entryInfo{
			mode: st.Mode, uid: st.Uid, gid: st.Gid, mtime: st.Mtim,
			rdev: st.Rdev, nlink: uint64(st.Nlink), ino: st.Ino,
			xattrs: lxattrs(t, p),
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			e.size, e.blocks = st.Size, st.Blocks
			e.sum = fileSum(t, p)
		case unix.S_IFLNK:
			e.linkTarget, err = os.Readlink(p)
		}
		out[rel] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fileSum(t *testing.T, p string) [32]byte {
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

func lxattrs(t *testing.T, p string) map[string]string {
	recs, err := readXattrs(pathXattrs(p))
	if err != nil {
		t.Fatalf("xattrs of %q: %v", p, err)
	}
	m := map[string]string{}
	for k, v := range recs {
		m[strings.TrimPrefix(k, paxXattr)] = v
	}
	return m
}

// compareTrees checks that got holds exactly want's entries with equal
// metadata, and that names sharing an inode in want share one in got.
func compareTrees(t *testing.T, want, got map[string]entryInfo) {
	t.Helper()
	for _, rel := range sortedKeys(want) {
		w, g := want[rel], got[rel]
		if _, ok := got[rel]; !ok {
			t.Errorf("%q: missing after extract", rel)
			continue
		}
		check := func(what string, a, b any) {
			t.Helper()
			if a != b {
				t.Errorf("%q: %s = %v, want %v", rel, what, b, a)
			}
		}
		check("mode", w.mode, g.mode)
		check("uid", w.uid, g.uid)
		check("gid", w.gid, g.gid)
		check("mtime", w.mtime, g.mtime)
		check("size", w.size, g.size)
		check("allocated blocks", w.blocks, g.blocks)
		check("rdev", w.rdev, g.rdev)
		check("nlink", w.nlink, g.nlink)
		check("content", w.sum, g.sum)
		check("link target", w.linkTarget, g.linkTarget)
		if !mapsEqual(w.xattrs, g.xattrs) {
			t.Errorf("%q: xattrs = %q, want %q", rel, g.xattrs, w.xattrs)
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			t.Errorf("%q: unexpected entry after extract", rel)
		}
	}
	// Hardlink identity: same inode in want <=> same inode in got.
	firstByIno := map[uint64]string{}
	wantByGotIno := map[uint64]uint64{}
	for _, rel := range sortedKeys(want) {
		w := want[rel]
		if w.mode&unix.S_IFMT == unix.S_IFDIR {
			continue
		}
		if wi, ok := wantByGotIno[got[rel].ino]; ok && wi != w.ino {
			t.Errorf("%q: extracted as a hardlink of an unrelated file", rel)
		}
		wantByGotIno[got[rel].ino] = w.ino
		if first, ok := firstByIno[w.ino]; ok {
			if got[first].ino != got[rel].ino {
				t.Errorf("%q: not a hardlink of %q after extract", rel, first)
			}
		} else {
			firstByIno[w.ino] = rel
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || !bytes.Equal([]byte(v), []byte(bv)) {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
