package dirtar

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Sparse files are written in the GNU PAX sparse format 0.1 (what
// `tar --format=posix --sparse-version=0.1 -S` writes): only the data
// extents are stored, and the records GNU.sparse.size (real size),
// GNU.sparse.numblocks and GNU.sparse.map ("offset,length,..." ending in a
// zero-length extent at the real size) describe where they go. GNU tar,
// bsdtar and archive/tar read it; archive/tar also leaves the map in
// Header.PAXRecords, which lets Extract recreate exactly the same holes.
//
// archive/tar's Writer drops GNU.sparse.* records, so the header is
// formatted by a scratch tar.Writer and the records are spliced into its
// PAX block by hand (spliceRecords).
const (
	paxSparseSize   = "GNU.sparse.size"
	paxSparseBlocks = "GNU.sparse.numblocks"
	paxSparseMap    = "GNU.sparse.map"
	paxSparseName   = "GNU.sparse.name"
	paxSparseMajor  = "GNU.sparse.major"
)

// maxExtents bounds the sparse map: archive/tar refuses PAX headers over
// 1 MiB, and an extent costs up to ~40 bytes. Files with more extents get
// their smallest holes stored as zeros until the map fits.
var maxExtents = 16 << 10

type extent struct{ off, len int64 }

// dataExtents lists the data regions of the open file fd of size size with
// SEEK_DATA/SEEK_HOLE. ok is false when the file has no holes worth
// keeping, or the filesystem cannot tell (it is then stored dense).
func dataExtents(fd int, size int64) (ext []extent, ok bool, err error) {
	minHole := int64(1) // grows when the map gets too long
	for pos := int64(0); pos < size; {
		start, err := unix.Seek(fd, pos, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break // only a hole up to the end
		}
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("seek data: %w", err)
		}
		end, err := unix.Seek(fd, start, unix.SEEK_HOLE)
		if err != nil {
			return nil, false, fmt.Errorf("seek hole: %w", err)
		}
		end = min(end, size)
		if start >= end {
			break // the file shrank meanwhile
		}
		if n := len(ext); n > 0 && start-(ext[n-1].off+ext[n-1].len) < minHole {
			ext[n-1].len = end - ext[n-1].off
		} else {
			ext = append(ext, extent{start, end - start})
		}
		for len(ext) > maxExtents {
			minHole *= 2
			ext = mergeHoles(ext, minHole)
		}
		pos = end
	}
	if len(ext) == 1 && ext[0].off == 0 && ext[0].len == size {
		return nil, false, nil
	}
	return ext, true, nil
}

// mergeHoles joins extents separated by holes shorter than minHole.
func mergeHoles(ext []extent, minHole int64) []extent {
	out := ext[:1]
	for _, e := range ext[1:] {
		last := &out[len(out)-1]
		if e.off-(last.off+last.len) < minHole {
			last.len = e.off + e.len - last.off
		} else {
			out = append(out, e)
		}
	}
	return out
}

// sparseRecord is one PAX record of a sparse entry.
type sparseRecord struct{ key, val string }

// sparseRecords returns the GNU 0.1 records for a file of real size size,
// in the order GNU tar writes them: it needs numblocks before the map.
func sparseRecords(name string, ext []extent, size int64) []sparseRecord {
	var m strings.Builder
	for _, e := range ext {
		m.WriteString(strconv.FormatInt(e.off, 10) + "," + strconv.FormatInt(e.len, 10) + ",")
	}
	m.WriteString(strconv.FormatInt(size, 10) + ",0")
	return []sparseRecord{
		{paxSparseSize, strconv.FormatInt(size, 10)},
		{paxSparseBlocks, strconv.Itoa(len(ext) + 1)},
		{paxSparseName, name},
		{paxSparseMap, m.String()},
	}
}

// sparseHeader formats hdr (a TypeReg header with the real size) as the
// header of a sparse entry storing only ext, and returns it with the
// number of content bytes that follow it.
func sparseHeader(hdr *tar.Header, ext []extent) ([]byte, int64, error) {
	var stored int64
	for _, e := range ext {
		stored += e.len
	}
	recs := sparseRecords(hdr.Name, ext, hdr.Size)
	h := *hdr
	h.Size = stored
	// The stored name follows GNU tar, so a reader that knows no sparse
	// format extracts the packed data under a name that is clearly not
	// the file's, instead of silently wrong content under the real one.
	dir, base := splitName(strings.TrimSuffix(hdr.Name, "/"))
	h.Name = "GNUSparseFile.0/" + base
	if dir != "." {
		h.Name = dir + "/" + h.Name
	}
	raw, err := spliceRecords(&h, recs)
	return raw, stored, err
}

// sparseData writes the extents ext of f to w, zeros for what could not be
// read (the file shrank), and reports whether that happened.
func (wk *walker) sparseData(w io.Writer, f *os.File, ext []extent) (short bool, err error) {
	for _, e := range ext {
		src := &ctxReader{ctx: wk.ctx, r: io.NewSectionReader(f, e.off, e.len)}
		n, err := io.CopyBuffer(struct{ io.Writer }{w}, src, wk.buf)
		if err != nil {
			return false, fmt.Errorf("read: %w", err)
		}
		if n < e.len {
			short = true
			if err := wk.zeros(w, e.len-n); err != nil {
				return false, err
			}
		}
	}
	return short, nil
}

const blockSize = 512

// zeros writes n zero bytes to w.
func (wk *walker) zeros(w io.Writer, n int64) error {
	for n > 0 {
		k := min(n, int64(len(wk.buf)))
		clear(wk.buf[:k])
		if _, err := w.Write(wk.buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}
