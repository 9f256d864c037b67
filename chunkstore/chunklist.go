package chunkstore

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/zuulstate/zuulstate/snapshot"
)

// ID is a chunk's identity: the keyed hash of its raw bytes (keyed BLAKE3,
// or HMAC-SHA256 in older repositories) under an id key derived from the
// repository's chunk-id key.
type ID [32]byte

func (id ID) String() string { return hex.EncodeToString(id[:]) }

// ParseID reads the 64 hex digits of an id.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 64 {
		return id, fmt.Errorf("chunk id %q: want 64 hex digits", s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("chunk id %q: %w", s, err)
	}
	return id, nil
}

// Ref is one line of a chunk list: Length raw bytes of chunk ID starting at
// Offset. A part's raw stream is its refs' slices concatenated; most refs
// cover a whole chunk, a reused file record covers a slice of a chunk
// written by an earlier snapshot.
type Ref struct {
	ID     ID
	Offset uint32
	Length uint32
}

// MaxChunkSize bounds a chunk's raw size; decoders refuse larger claims.
const MaxChunkSize = 16 << 20

// chunkListMagic is the first line of every chunk list, so a list can be
// told from other text and its version read by a person.
const chunkListMagic = "zuulstate chunk list v1"

// WriteChunkList writes refs as text: the magic line, then one line per ref,
// "<id hex> <offset> <length>". Text, so an operator can rebuild a part with
// stock tools (README: restoring without zuulstate).
func WriteChunkList(w io.Writer, refs []Ref) error {
	l := &listWriter{w: w}
	if err := l.start(); err != nil {
		return err
	}
	for _, r := range refs {
		if err := l.add(r); err != nil {
			return err
		}
	}
	return l.finish()
}

// ReadChunkList parses a chunk list, calling fn for each ref in order.
// Every malformed line is an error wrapping snapshot.ErrCorrupt and naming
// its number; errors of r and of fn are returned as they are.
func ReadChunkList(r io.Reader, fn func(Ref) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 256), 256)
	if !sc.Scan() || sc.Text() != chunkListMagic {
		if err := scanErr(sc); err != nil {
			return err
		}
		return fmt.Errorf("chunk list: %w: first line is not %q", snapshot.ErrCorrupt, chunkListMagic)
	}
	for n := 2; sc.Scan(); n++ {
		ref, err := parseRef(sc.Bytes())
		if err != nil {
			return fmt.Errorf("chunk list line %d: %w: %w", n, snapshot.ErrCorrupt, err)
		}
		if err := fn(ref); err != nil {
			return err
		}
	}
	return scanErr(sc)
}

// scanErr is the scanner's error: a line too long for any chunk list is
// corruption, anything else came from the reader below.
func scanErr(sc *bufio.Scanner) error {
	err := sc.Err()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bufio.ErrTooLong):
		return fmt.Errorf("chunk list: %w: a line is too long", snapshot.ErrCorrupt)
	}
	return fmt.Errorf("chunk list: %w", err)
}

func parseRef(line []byte) (Ref, error) {
	var r Ref
	f := bytes.Fields(line)
	if len(f) != 3 || len(line) != len(f[0])+len(f[1])+len(f[2])+2 {
		return r, fmt.Errorf("want \"<id> <offset> <length>\", got %q", line)
	}
	id, err := ParseID(string(f[0]))
	if err != nil {
		return r, err
	}
	off, err1 := parseUint32(f[1])
	n, err2 := parseUint32(f[2])
	switch {
	case err1 != nil || err2 != nil:
		return r, fmt.Errorf("bad offset or length in %q", line)
	case n == 0 || uint64(off)+uint64(n) > MaxChunkSize:
		return r, fmt.Errorf("slice %d+%d is empty or beyond the largest chunk", off, n)
	}
	return Ref{ID: id, Offset: off, Length: n}, nil
}

func parseUint32(b []byte) (uint32, error) {
	if len(b) > 1 && b[0] == '0' || strings.ContainsAny(string(b), "+-") {
		return 0, fmt.Errorf("non-canonical number %q", b)
	}
	v, err := strconv.ParseUint(string(b), 10, 32)
	return uint32(v), err
}
