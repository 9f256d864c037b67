package snapdiff

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// diffTars compares two tar parts entry by entry: type, size, content
// (sha256 of the file data, computed while streaming), mode, owner, mtime,
// link target and xattrs.
func diffTars(ctx context.Context, ra, rb io.Reader, emit func(kind, path, detail string)) error {
	a := ordered(tarEntries(tar.NewReader(ra)), tarLess, "snapshot A")
	b := ordered(tarEntries(tar.NewReader(rb)), tarLess, "snapshot B")
	return merge(ctx, a, b, tarLess, emit)
}

// tarLess is the order dirtar writes: the root first, then depth first
// with names in byte order per directory.
func tarLess(a, b string) bool {
	switch {
	case a == ".":
		return b != "."
	case b == ".":
		return false
	}
	return zktree.DFSLess(a, b)
}

func tarEntries(tr *tar.Reader) iterator {
	return func() (*entry, error) {
		h, err := tr.Next()
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
		if name == "" {
			name = "."
		}
		sum := ""
		if h.Typeflag == tar.TypeReg {
			s := sha256.New()
			if _, err := io.Copy(s, tr); err != nil {
				return nil, fmt.Errorf("read %s: %w", name, err)
			}
			sum = hex.EncodeToString(s.Sum(nil))
		}
		var xattrs strings.Builder
		for _, k := range slices.Sorted(maps.Keys(h.PAXRecords)) {
			if strings.HasPrefix(k, "SCHILY.xattr.") {
				fmt.Fprintf(&xattrs, "%s=%x;", k, h.PAXRecords[k])
			}
		}
		mode := fmt.Sprintf("%04o", h.Mode&0o7777)
		owner := fmt.Sprintf("%d:%d", h.Uid, h.Gid)
		mtime := h.ModTime.UTC().Format(time.RFC3339Nano)
		return &entry{path: name, attrs: []attr{
			{name: "type", value: string(h.Typeflag), shown: typeName(h.Typeflag)},
			{name: "size", value: fmt.Sprint(h.Size), shown: fmt.Sprint(h.Size)},
			{name: "content", value: sum},
			{name: "link", value: h.Linkname, shown: h.Linkname},
			{name: "mode", value: mode, shown: mode},
			{name: "owner", value: owner, shown: owner},
			{name: "mtime", value: mtime, shown: mtime},
			{name: "xattrs", value: xattrs.String()},
		}}, nil
	}
}

func typeName(t byte) string {
	switch t {
	case tar.TypeReg:
		return "file"
	case tar.TypeDir:
		return "directory"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hardlink"
	case tar.TypeFifo:
		return "fifo"
	case tar.TypeChar, tar.TypeBlock:
		return "device"
	}
	return string(t)
}
