// Package chunker cuts a part's raw stream into chunks whose boundaries
// depend on content, so an insertion or removal changes the chunks around
// it and no others. Byte streams (ZooKeeper records, anything without
// units) go through FastCDC (github.com/PlakarKorp/go-cdc-chunkers,
// keyed). Tar archives are cut at record boundaries instead (Group), so
// every file's record lies within chunks of its own or a group and can be
// reused by the next backup without reading the file; SQL streams are cut
// at statement ends the same way (UnitParams), since the dump already ends
// statements by content and a rolling hash over every byte would only
// repeat that at a cost. BENCHMARKS.md has the measurements behind the
// library and the sizes.
package chunker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	chunkers "github.com/PlakarKorp/go-cdc-chunkers"
	_ "github.com/PlakarKorp/go-cdc-chunkers/chunkers/fastcdc" // registers fastcdc
)

// Params bound content-defined chunks: no chunk is smaller than Min
// (except a stream's last) or larger than Max; Avg is the typical size and
// must be a power of two.
type Params struct{ Min, Avg, Max int }

// StreamParams are the sizes for byte streams: 1 MiB chunks, as restic,
// balance the index (one entry per chunk) against what a change costs (the
// chunk around it is stored again).
var StreamParams = Params{Min: 256 << 10, Avg: 1 << 20, Max: 4 << 20}

// algorithm is the spec-faithful FastCDC of the library, pinned by name so
// a library update cannot move boundaries (and with them dedup) silently.
const algorithm = "fastcdc-v1.0.0"

// CDC cuts one stream into content-defined chunks.
type CDC struct{ c *chunkers.Chunker }

// NewCDC cuts r. key (32 bytes, secret) permutes the rolling hash, so a
// reader of the bucket cannot predict boundaries from a guessed content.
// buf, at least p.Max bytes, is the scan buffer; chunks returned by Next
// alias it.
func NewCDC(r io.Reader, p Params, key, buf []byte) (*CDC, error) {
	c, err := chunkers.NewChunkerBuffer(algorithm, r, &chunkers.ChunkerOpts{MinSize: p.Min, NormalSize: p.Avg, MaxSize: p.Max, Key: key}, buf)
	if err != nil {
		return nil, fmt.Errorf("chunker: %w", err)
	}
	return &CDC{c: c}, nil
}

// BufferSize is the scan buffer NewCDC wants for p: twice Max, so the
// chunker refills its window half as often.
func BufferSize(p Params) int { return 2 * p.Max }

// Next returns the next chunk, valid until the following call, or io.EOF
// after the last one. An empty stream yields no chunk.
func (c *CDC) Next() ([]byte, error) {
	for {
		b, err := c.c.Next()
		if len(b) > 0 {
			if errors.Is(err, io.EOF) {
				// The library returns the last chunk with io.EOF; hand it
				// out alone so callers see data and end separately.
				return b, nil
			}
			return b, err
		}
		if err != nil {
			return nil, err
		}
	}
}

// Group decides where to cut between the small records of a tar archive.
// A cut depends on the record just added (its keyed header hash and size)
// and on the group's size, not on the bytes' position in the stream, so
// after an inserted or removed file the next cut falls where it fell
// before and later groups match the earlier snapshot's again.
type Group struct {
	// Min is the smallest group cut by content; Avg is the size a group
	// reaches on average; Max forces a cut.
	Min, Avg, Max int
	// Big is the record size from which a record gets content-defined
	// chunks of its own instead of joining a group.
	Big int
}

// GroupParams are the sizes for tar archives: groups of about 512 KiB
// keep small build-log files together (one index entry, one age header and
// one zstd frame per group) while a changed or new file costs only its
// group; files from 1 MiB are cut on their own.
var GroupParams = Group{Min: 64 << 10, Avg: 512 << 10, Max: 2 << 20, Big: 1 << 20}

// UnitParams are the sizes for streams whose writer says where a unit ends
// (SQL statements, which the dump ends where their rows' content says):
// chunks of about 1 MiB, as for byte streams, cut only at a unit's end.
var UnitParams = Group{Min: 256 << 10, Avg: 1 << 20, Max: 4 << 20}

// CutAfter reports whether the group, size bytes long after adding a
// record of recordSize bytes whose keyed hash is sum, ends there. The
// chance of a cut is the record's share of Avg, so the expected group size
// does not depend on how large its files are.
func (g Group) CutAfter(size, recordSize int, sum []byte) bool {
	if size >= g.Max {
		return true
	}
	if size < g.Min || len(sum) < 8 {
		return false
	}
	p := float64(recordSize) / float64(g.Avg-g.Min)
	if p >= 1 {
		return true
	}
	return binary.BigEndian.Uint64(sum) < uint64(p*math.MaxUint64)
}
