package chunkstore

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/zuulstate/zuulstate/dirtar"
)

// The parent cache is this host's record of the last snapshot of each tar
// part: for every entry, in archive order, what identified it (header sum,
// file stamp) and which chunk slices hold its bytes. The next backup of the
// part reuses those slices for entries that did not change, without reading
// them. It lives in the state directory, not in the repository: it names
// files and chunks in the clear, which the host knows anyway, and the
// repository's copy of it would have to be readable without an identity.
// Losing it costs one full read, never correctness.

const parentCacheMagic = "zuulstate parent cache v1\n"

// cacheEntry is one archive entry in a parent cache.
type cacheEntry struct {
	dirtar.Record
	Refs []Ref
}

// parentCachePath is kept per set of recipients: the cache's chunks are
// sealed to the recipients of the snapshot that wrote it, and ids are keyed
// by them (Store.idsFor).
func parentCachePath(stateDir, repoID string, recipients []string, source, part string) string {
	set := "plain"
	if len(recipients) > 0 {
		set = recipientTag(recipients)
	}
	return filepath.Join(stateDir, repoID, "parents", set, source, part+".cache")
}

// cacheWriter writes a new parent cache next to the final one; commit
// renames it into place once the snapshot exists.
type cacheWriter struct {
	f    *os.File
	bw   *bufio.Writer
	path string
	buf  []byte
}

func createCache(path string) (*cacheWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("parent cache: %w", err)
	}
	f, err := os.OpenFile(path+".new", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("parent cache: %w", err)
	}
	w := &cacheWriter{f: f, bw: bufio.NewWriterSize(f, 256<<10), path: path}
	w.bw.WriteString(parentCacheMagic)
	return w, nil
}

func (w *cacheWriter) add(e cacheEntry) error {
	b := w.buf[:0]
	b = binary.AppendUvarint(b, uint64(len(e.Path)))
	b = append(b, e.Path...)
	b = append(b, e.HeaderSum[:]...)
	b = binary.AppendVarint(b, e.Size)
	s := e.Stamp
	b = binary.AppendVarint(b, s.Size)
	b = binary.AppendVarint(b, s.MtimeNsec)
	b = binary.AppendVarint(b, s.CtimeNsec)
	b = binary.AppendUvarint(b, s.Inode)
	b = binary.AppendUvarint(b, uint64(s.Mode))
	b = binary.AppendUvarint(b, uint64(len(e.Refs)))
	for _, r := range e.Refs {
		b = append(b, r.ID[:]...)
		b = binary.AppendUvarint(b, uint64(r.Offset))
		b = binary.AppendUvarint(b, uint64(r.Length))
	}
	w.buf = b
	_, err := w.bw.Write(b)
	return err
}

// finish flushes and syncs the new cache; it is not in place yet.
func (w *cacheWriter) finish() error {
	err := w.bw.Flush()
	if err == nil {
		err = w.f.Sync()
	}
	return errors.Join(err, w.f.Close())
}

func (w *cacheWriter) commit() error { return os.Rename(w.path+".new", w.path) }

func (w *cacheWriter) discard() {
	w.f.Close()
	os.Remove(w.path + ".new")
}

// cacheReader walks an old parent cache alongside a new archive. Both are
// in archive order, so a lookup only moves forward and memory stays flat.
type cacheReader struct {
	f    *os.File
	br   *bufio.Reader
	next *cacheEntry
	err  error
}

// openCache opens the parent cache at path; a missing or unreadable cache
// is no cache (nil, nil): the backup then reads everything.
func openCache(path string) *cacheReader {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	r := &cacheReader{f: f, br: bufio.NewReaderSize(f, 256<<10)}
	magic := make([]byte, len(parentCacheMagic))
	if _, err := io.ReadFull(r.br, magic); err != nil || string(magic) != parentCacheMagic {
		f.Close()
		return nil
	}
	r.advance()
	return r
}

func (r *cacheReader) close() {
	if r != nil {
		r.f.Close()
	}
}

// lookup returns the entry for path if the cache has one. Entries before
// path in archive order (gone from the tree since) are skipped; the entry
// itself stays until a later path is looked up, so a path may be looked up
// twice (ReuseFile, then BeginRecord).
func (r *cacheReader) lookup(path string) (*cacheEntry, bool) {
	if r == nil {
		return nil, false
	}
	for r.next != nil && archiveLess(r.next.Path, path) {
		r.advance()
	}
	if r.next != nil && r.next.Path == path {
		return r.next, true
	}
	return nil, false
}

func (r *cacheReader) advance() {
	r.next = nil
	if r.err != nil {
		return
	}
	e, err := readCacheEntry(r.br)
	if err != nil {
		r.err = err // io.EOF at the end; a damaged cache just ends early
		return
	}
	r.next = e
}

func readCacheEntry(br *bufio.Reader) (*cacheEntry, error) {
	var e cacheEntry
	n, err := binary.ReadUvarint(br)
	if err != nil || n > 1<<20 {
		return nil, io.EOF
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(br, p); err != nil {
		return nil, err
	}
	e.Path = string(p)
	if _, err := io.ReadFull(br, e.HeaderSum[:]); err != nil {
		return nil, err
	}
	var vs [4]int64
	for i := range vs {
		if vs[i], err = binary.ReadVarint(br); err != nil {
			return nil, err
		}
	}
	e.Size, e.Stamp.Size, e.Stamp.MtimeNsec, e.Stamp.CtimeNsec = vs[0], vs[1], vs[2], vs[3]
	ino, err1 := binary.ReadUvarint(br)
	mode, err2 := binary.ReadUvarint(br)
	nrefs, err3 := binary.ReadUvarint(br)
	if err := errors.Join(err1, err2, err3); err != nil || nrefs > 1<<20 {
		return nil, io.ErrUnexpectedEOF
	}
	e.Stamp.Inode, e.Stamp.Mode = ino, uint32(mode)
	// The slice grows with the refs actually present: a damaged count
	// must not allocate for a million refs.
	e.Refs = make([]Ref, 0, min(nrefs, 64))
	for range nrefs {
		var r Ref
		if _, err := io.ReadFull(br, r.ID[:]); err != nil {
			return nil, err
		}
		off, err1 := binary.ReadUvarint(br)
		ln, err2 := binary.ReadUvarint(br)
		if errors.Join(err1, err2) != nil || off > MaxChunkSize || ln > MaxChunkSize || off+ln > MaxChunkSize {
			return nil, io.ErrUnexpectedEOF
		}
		r.Offset, r.Length = uint32(off), uint32(ln)
		e.Refs = append(e.Refs, r)
	}
	return &e, nil
}

// archiveLess orders paths as dirtar writes them: depth first, the names in
// each directory in byte order, a directory before its contents, the root
// ("") first.
func archiveLess(a, b string) bool {
	for {
		if a == b {
			return false
		}
		if a == "" {
			return true
		}
		if b == "" {
			return false
		}
		ca, ra, moreA := strings.Cut(a, "/")
		cb, rb, moreB := strings.Cut(b, "/")
		if ca != cb {
			return ca < cb
		}
		if !moreA {
			return true // a is b's ancestor
		}
		if !moreB {
			return false
		}
		a, b = ra, rb
	}
}
