package dirtar

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// sparseInfo tells whether hdr is a sparse entry and, when the archive
// kept its map where we can see it (PAX 0.0/0.1, what Write produces),
// returns the data extents. For PAX 1.0 and old GNU sparse entries
// archive/tar consumes the map itself; ext is nil and the holes are found
// again as all-zero blocks.
func sparseInfo(hdr *tar.Header) (ext []extent, sparse bool) {
	if m, ok := hdr.PAXRecords[paxSparseMap]; ok {
		// archive/tar has already checked the map against the size.
		f := strings.Split(m, ",")
		for i := 0; i+1 < len(f); i += 2 {
			off, err1 := strconv.ParseInt(f[i], 10, 64)
			n, err2 := strconv.ParseInt(f[i+1], 10, 64)
			if err1 != nil || err2 != nil {
				return nil, true
			}
			if n > 0 {
				ext = append(ext, extent{off, n})
			}
		}
		return ext, true
	}
	return nil, hdr.Typeflag == tar.TypeGNUSparse || hdr.PAXRecords[paxSparseMajor] != ""
}

// writeSparse fills the new, empty file f from r (the entry's expanded
// stream of size bytes, holes reading as zeros) writing only the data
// extents, so holes stay unallocated, then sets the size.
func (x *extractor) writeSparse(f *os.File, r io.Reader, size int64, ext []extent) error {
	if ext == nil {
		return x.writeNonZero(f, r, size)
	}
	pos := int64(0)
	for _, e := range ext {
		if err := x.discard(r, e.off-pos); err != nil {
			return err
		}
		w := io.NewOffsetWriter(f, e.off)
		n, err := io.CopyBuffer(struct{ io.Writer }{w}, io.LimitReader(r, e.len), x.buf)
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if n < e.len {
			return fmt.Errorf("write: %w", io.ErrUnexpectedEOF)
		}
		pos = e.off + e.len
	}
	if err := x.discard(r, size-pos); err != nil {
		return err
	}
	return f.Truncate(size)
}

// discard reads n hole bytes from r.
func (x *extractor) discard(r io.Reader, n int64) error {
	m, err := io.CopyBuffer(io.Discard, io.LimitReader(r, n), x.buf)
	if err == nil && m < n {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return fmt.Errorf("read hole: %w", err)
	}
	return nil
}

// holeBlock is the unit in which zeros become holes when the archive hid
// the map: the usual filesystem block.
const holeBlock = 4096

// writeNonZero writes every holeBlock-aligned block of r that is not all
// zeros at its offset in f and leaves the rest as holes.
func (x *extractor) writeNonZero(f *os.File, r io.Reader, size int64) error {
	zero := make([]byte, holeBlock)
	var off int64
	for off < size {
		n, err := io.ReadFull(r, x.buf[:min(int64(len(x.buf)), size-off)])
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		chunk := x.buf[:n]
		for i := 0; i < len(chunk); {
			j := min(i+holeBlock, len(chunk))
			if !bytes.Equal(chunk[i:j], zero[:j-i]) {
				// Extend over following data blocks: one write per run.
				for j < len(chunk) && !bytes.Equal(chunk[j:min(j+holeBlock, len(chunk))], zero[:min(holeBlock, len(chunk)-j)]) {
					j = min(j+holeBlock, len(chunk))
				}
				if _, err := f.WriteAt(chunk[i:j], off+int64(i)); err != nil {
					return fmt.Errorf("write: %w", err)
				}
			}
			i = j
		}
		off += int64(n)
	}
	return f.Truncate(size)
}
