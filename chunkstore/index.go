package chunkstore

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
)

// Location says where a chunk's stored bytes are and how they were made.
type Location struct {
	Pack        string // pack object key
	PackSize    int64
	Offset      int64
	StoredSize  uint32
	RawSize     uint32
	StoredSHA   [32]byte
	Compression string // codec name
	Encrypted   bool   // an age file, else the compressed bytes
}

// IndexEntry is one line of an index object.
type IndexEntry struct {
	ID ID
	Location
}

const indexMagic = "zuulstate index v1"

// WriteIndex writes entries as text: the magic line, then per chunk
// "<id> <pack key> <pack size> <offset> <stored size> <raw size>
// <stored sha256> <compression> <age|none>". Text, so `grep` finds a chunk
// (README: restoring without zuulstate).
func WriteIndex(w io.Writer, entries []IndexEntry) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(indexMagic + "\n")
	var line []byte
	for _, e := range entries {
		line = hex.AppendEncode(line[:0], e.ID[:])
		line = append(line, ' ')
		if e.Pack == "" {
			line = append(line, '-') // a pack's own table
		} else {
			line = append(line, e.Pack...)
		}
		line = append(line, ' ')
		line = strconv.AppendInt(line, e.PackSize, 10)
		line = append(line, ' ')
		line = strconv.AppendInt(line, e.Offset, 10)
		line = append(line, ' ')
		line = strconv.AppendUint(line, uint64(e.StoredSize), 10)
		line = append(line, ' ')
		line = strconv.AppendUint(line, uint64(e.RawSize), 10)
		line = append(line, ' ')
		line = hex.AppendEncode(line, e.StoredSHA[:])
		line = append(line, ' ')
		line = append(line, e.Compression...)
		if e.Encrypted {
			line = append(line, " age\n"...)
		} else {
			line = append(line, " none\n"...)
		}
		bw.Write(line)
	}
	return bw.Flush()
}

// ReadIndex parses an index object, calling fn for each entry.
func ReadIndex(r io.Reader, fn func(IndexEntry) error) error { return readIndex(r, false, fn) }

// readIndex parses an index object or, with own, a pack's own table,
// whose entries name no pack ("-").
func readIndex(r io.Reader, own bool, fn func(IndexEntry) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1024), 1024)
	if !sc.Scan() || sc.Text() != indexMagic {
		if err := sc.Err(); err != nil {
			return fmt.Errorf("index: %w", err)
		}
		return fmt.Errorf("index: first line is not %q", indexMagic)
	}
	for n := 2; sc.Scan(); n++ {
		e, err := parseIndexLine(sc.Bytes(), own)
		if err != nil {
			return fmt.Errorf("index line %d: %w", n, err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

func parseIndexLine(line []byte, own bool) (IndexEntry, error) {
	var e IndexEntry
	f := bytes.Split(line, []byte(" "))
	if len(f) != 9 {
		return e, fmt.Errorf("want 9 fields, got %d", len(f))
	}
	id, err := ParseID(string(f[0]))
	if err != nil {
		return e, err
	}
	e.ID = id
	e.Pack = string(f[1])
	switch {
	case own && e.Pack == "-":
		e.Pack = ""
	case own || !ValidPackKey(e.Pack):
		return e, fmt.Errorf("bad pack key %q", f[1])
	}
	nums := make([]int64, 4)
	for i, b := range f[2:6] {
		v, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil || v < 0 {
			return e, fmt.Errorf("bad number %q", b)
		}
		nums[i] = v
	}
	e.PackSize, e.Offset = nums[0], nums[1]
	if nums[2] == 0 || nums[2] > 2*MaxChunkSize || nums[3] > MaxChunkSize || !own && e.Offset+nums[2] > e.PackSize {
		return e, fmt.Errorf("chunk %s: sizes out of range", id)
	}
	e.StoredSize, e.RawSize = uint32(nums[2]), uint32(nums[3])
	if len(f[6]) != 64 {
		return e, fmt.Errorf("bad stored sha256 %q", f[6])
	}
	if _, err := hex.Decode(e.StoredSHA[:], f[6]); err != nil {
		return e, fmt.Errorf("bad stored sha256: %w", err)
	}
	e.Compression = string(f[7])
	switch string(f[8]) {
	case "age":
		e.Encrypted = true
	case "none":
	default:
		return e, fmt.Errorf("unknown encryption %q", f[8])
	}
	return e, nil
}
