package voltest

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Losses are the documented differences of a way; Compare expects exactly
// these, no more and no fewer.
type Losses struct {
	MtimeNsec bool // mtimes are whole seconds
	Xattrs    bool // all xattrs but security.capability go (ACLs too)
	Holes     bool // sparse files come back dense
}

// Degrade applies the losses to a scan of the source, giving what the
// restored tree must look like.
func (l Losses) Degrade(want map[string]Entry) map[string]Entry {
	out := map[string]Entry{}
	for rel, e := range want {
		if l.MtimeNsec {
			e.Mtime.Nsec = 0
		}
		if l.Xattrs {
			x := map[string]string{}
			if v, ok := e.Xattrs["security.capability"]; ok {
				x["security.capability"] = v
			}
			e.Xattrs = x
		}
		if l.Holes && e.Mode&unix.S_IFMT == unix.S_IFREG && e.Blocks*512 < e.Size {
			e.Blocks = -1 // dense now: checked as such
		}
		out[rel] = e
	}
	return out
}

// Compare checks that got holds exactly want's entries with equal
// metadata (sizes and blocks of regular files only: a directory's depend
// on its history), and that names sharing an inode in want share one in
// got.
func Compare(t testing.TB, want, got map[string]Entry) {
	t.Helper()
	for _, rel := range slices.Sorted(maps.Keys(want)) {
		w, ok := want[rel]
		g, found := got[rel]
		if !ok || !found {
			t.Errorf("%q: missing after restore", rel)
			continue
		}
		check := func(what string, a, b any) {
			t.Helper()
			if a != b {
				t.Errorf("%q: %s = %v, want %v", rel, what, b, a)
			}
		}
		check("mode", w.Mode, g.Mode)
		check("uid", w.UID, g.UID)
		check("gid", w.GID, g.GID)
		check("mtime", w.Mtime, g.Mtime)
		check("size", w.Size, g.Size)
		if w.Blocks == -1 {
			if g.Blocks*512 < g.Size {
				t.Errorf("%q: restored with holes (%d blocks), want dense", rel, g.Blocks)
			}
		} else {
			check("allocated blocks", w.Blocks, g.Blocks)
		}
		check("rdev", w.Rdev, g.Rdev)
		check("content", w.Sum, g.Sum)
		check("link target", w.Link, g.Link)
		if !maps.Equal(w.Xattrs, g.Xattrs) {
			t.Errorf("%q: xattrs = %q, want %q", rel, g.Xattrs, w.Xattrs)
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			t.Errorf("%q: unexpected entry after restore", rel)
		}
	}
	groups := map[uint64][]string{}
	for rel, w := range want {
		if w.Mode&unix.S_IFMT != unix.S_IFDIR {
			groups[w.Ino] = append(groups[w.Ino], rel)
		}
	}
	seen := map[uint64]string{}
	for _, names := range groups {
		slices.Sort(names)
		for _, n := range names[1:] {
			if got[n].Ino != got[names[0]].Ino {
				t.Errorf("%q: not a hardlink of %q after restore", n, names[0])
			}
		}
		if other, dup := seen[got[names[0]].Ino]; dup {
			t.Errorf("%q and %q: separate files became one", names[0], other)
		}
		seen[got[names[0]].Ino] = names[0]
	}
}

// Without returns want minus the entries under prefix.
func Without(want map[string]Entry, prefix string) map[string]Entry {
	out := map[string]Entry{}
	for k, v := range want {
		if k != prefix && !strings.HasPrefix(k, prefix+"/") {
			out[k] = v
		}
	}
	return out
}
