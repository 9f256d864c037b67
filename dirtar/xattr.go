package dirtar

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// paxXattr is the PAX record prefix for extended attributes, the SCHILY
// convention that GNU tar, bsdtar and archive/tar all understand. POSIX
// ACLs travel the same way as system.posix_acl_access/default.
const paxXattr = "SCHILY.xattr."

// procPath names the entry base inside the directory open as dirfd, for the
// xattr syscalls that have only path (l*xattr) and no *at form. The kernel
// resolves /proc/self/fd/N straight to the open directory, and base is a
// single component, so the path cannot wander off even if names above it
// change meanwhile.
func procPath(dirfd int, base string) string {
	return "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + base
}

// xattrSource lists and reads attributes of one file, by fd or by path.
type xattrSource struct {
	list func(dest []byte) (int, error)
	get  func(name string, dest []byte) (int, error)
}

func fdXattrs(fd int) xattrSource {
	return xattrSource{
		list: func(d []byte) (int, error) { return unix.Flistxattr(fd, d) },
		get:  func(n string, d []byte) (int, error) { return unix.Fgetxattr(fd, n, d) },
	}
}

func pathXattrs(p string) xattrSource {
	return xattrSource{
		list: func(d []byte) (int, error) { return unix.Llistxattr(p, d) },
		get:  func(n string, d []byte) (int, error) { return unix.Lgetxattr(p, n, d) },
	}
}

// sized calls f with a buffer big enough for its answer; attributes can
// grow between the size probe and the read, hence the ERANGE loop.
func sized(f func([]byte) (int, error)) ([]byte, error) {
	for {
		n, err := f(nil)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil
		}
		buf := make([]byte, n)
		n, err = f(buf)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}

// readXattrs returns all attributes as PAX records, or nil if there are
// none or the filesystem does not support them.
func readXattrs(src xattrSource) (map[string]string, error) {
	list, err := sized(src.list)
	if errors.Is(err, unix.ENOTSUP) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listxattr: %w", err)
	}
	var recs map[string]string
	for name := range bytes.SplitSeq(list, []byte{0}) {
		if len(name) == 0 {
			continue
		}
		n := string(name)
		val, err := sized(func(d []byte) (int, error) { return src.get(n, d) })
		if errors.Is(err, unix.ENODATA) {
			continue // removed since the listing: a hot copy, not an error
		}
		if err != nil {
			return nil, fmt.Errorf("getxattr %q: %w", n, err)
		}
		if recs == nil {
			recs = make(map[string]string)
		}
		recs[paxXattr+n] = string(val)
	}
	return recs, nil
}

// xattrSink sets one attribute by fd or by path.
type xattrSink func(name string, val []byte) error

func fdSink(fd int) xattrSink {
	return func(n string, v []byte) error { return unix.Fsetxattr(fd, n, v, 0) }
}

func pathSink(p string) xattrSink {
	return func(n string, v []byte) error { return unix.Lsetxattr(p, n, v, 0) }
}

// writeXattrs restores the SCHILY.xattr records of hdr (sorted, so errors
// are reproducible). The legacy Header.Xattrs map is a view of the same
// records, so PAXRecords alone is complete.
func writeXattrs(hdr *tar.Header, set xattrSink) error {
	var names []string
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, paxXattr) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		n := strings.TrimPrefix(k, paxXattr)
		if err := set(n, []byte(hdr.PAXRecords[k])); err != nil {
			return fmt.Errorf("setxattr %q: %w", n, err)
		}
	}
	return nil
}
