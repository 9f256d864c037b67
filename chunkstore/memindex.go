package chunkstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/zuulstate/zuulstate/codec"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
)

// Index is every index object of a repository, in memory. A chunk takes
// 32 bytes of id and 20 of location, plus 32 of stored checksum when loaded
// WithSums (restore and verify need them, a backup does not); with the
// map's overhead that is about 60 and 100 bytes (docs/FORMAT.md).
type Index struct {
	packs    []packInfo
	packIdx  map[string]uint32
	codecs   []string
	chunks   map[ID]slot
	sums     map[ID][32]byte // nil unless loaded with sums
	objects  []string        // index object keys
	withSums bool
}

type packInfo struct {
	key  string
	size int64
}

type slot struct {
	pack, offset, stored, raw uint32
	codec                     uint8
	encrypted                 bool
}

// maxIndexObject bounds one index object's stored size (about 2.5 million
// chunks); a larger one is corrupt, not something to buffer.
const maxIndexObject = 256 << 20

// LoadIndex reads every index object. Each object is named by the sha256
// of its bytes: one that does not match is refused as corrupt.
func LoadIndex(ctx context.Context, store storage.Store, withSums bool) (*Index, error) {
	ix := newIndex(withSums)
	var keys []string
	if err := store.List(ctx, IndexPrefix, func(oi storage.ObjectInfo) error {
		if _, ok := nameSum(oi.Key); ok {
			keys = append(keys, oi.Key)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list index objects: %w", err)
	}
	parsed := make([][]IndexEntry, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, k := range keys {
		g.Go(func() error {
			entries, err := readIndexObject(gctx, store, k)
			parsed[i] = entries
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, entries := range parsed {
		for _, e := range entries {
			ix.add(e)
		}
		ix.objects = append(ix.objects, keys[i])
	}
	return ix, nil
}

func newIndex(withSums bool) *Index {
	ix := &Index{packIdx: map[string]uint32{}, chunks: map[ID]slot{}, withSums: withSums}
	if withSums {
		ix.sums = map[ID][32]byte{}
	}
	return ix
}

func readIndexObject(ctx context.Context, store storage.Store, key string) ([]IndexEntry, error) {
	rc, err := store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read index %s: %w", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxIndexObject+1))
	if err != nil {
		return nil, fmt.Errorf("read index %s: %w", key, err)
	}
	want, _ := nameSum(key)
	if sum := sha256.Sum256(data); len(data) > maxIndexObject || hex.EncodeToString(sum[:]) != want {
		return nil, fmt.Errorf("index %s: %w: its content does not match its name", key, snapshot.ErrCorrupt)
	}
	zc, err := codec.Lookup(codec.Default)
	if err != nil {
		return nil, err
	}
	zr, err := zc.NewStreamReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var out []IndexEntry
	err = ReadIndex(io.LimitReader(zr, 8*maxIndexObject), func(e IndexEntry) error {
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index %s: %w: %w", key, snapshot.ErrCorrupt, err)
	}
	return out, nil
}

// add records e; the first location of an id wins (a crash during repack
// leaves a chunk in two packs, both intact).
func (ix *Index) add(e IndexEntry) {
	if _, ok := ix.chunks[e.ID]; ok {
		return
	}
	p, ok := ix.packIdx[e.Pack]
	if !ok {
		p = uint32(len(ix.packs))
		ix.packs = append(ix.packs, packInfo{key: e.Pack, size: e.PackSize})
		ix.packIdx[e.Pack] = p
	}
	c := -1
	for i, name := range ix.codecs {
		if name == e.Compression {
			c = i
		}
	}
	if c < 0 {
		c = len(ix.codecs)
		ix.codecs = append(ix.codecs, e.Compression)
	}
	ix.chunks[e.ID] = slot{pack: p, offset: uint32(e.Offset), stored: e.StoredSize, raw: e.RawSize, codec: uint8(c), encrypted: e.Encrypted}
	if ix.sums != nil {
		ix.sums[e.ID] = e.StoredSHA
	}
}

// Has reports whether the repository holds chunk id.
func (ix *Index) Has(id ID) bool { _, ok := ix.chunks[id]; return ok }

// RawSize returns a held chunk's raw size.
func (ix *Index) RawSize(id ID) (uint32, bool) {
	s, ok := ix.chunks[id]
	return s.raw, ok
}

// Lookup returns where chunk id is stored.
func (ix *Index) Lookup(id ID) (Location, bool) {
	s, ok := ix.chunks[id]
	if !ok {
		return Location{}, false
	}
	p := ix.packs[s.pack]
	loc := Location{Pack: p.key, PackSize: p.size, Offset: int64(s.offset), StoredSize: s.stored, RawSize: s.raw,
		Compression: ix.codecs[s.codec], Encrypted: s.encrypted}
	if ix.sums != nil {
		loc.StoredSHA = ix.sums[id]
	}
	return loc, true
}

// Len is the number of chunks.
func (ix *Index) Len() int { return len(ix.chunks) }

// Objects returns the keys of the index objects loaded.
func (ix *Index) Objects() []string { return ix.objects }

// Packs returns every pack the index names, with its size, sorted by key.
func (ix *Index) Packs() map[string]int64 {
	out := make(map[string]int64, len(ix.packs))
	for _, p := range ix.packs {
		out[p.key] = p.size
	}
	return out
}

// Entries returns every entry, ordered by pack and offset (the order a
// rewritten index keeps, so a pack's chunks stay together).
func (ix *Index) Entries() []IndexEntry {
	out := make([]IndexEntry, 0, len(ix.chunks))
	for id := range ix.chunks {
		loc, _ := ix.Lookup(id)
		out = append(out, IndexEntry{ID: id, Location: loc})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pack != out[j].Pack {
			return out[i].Pack < out[j].Pack
		}
		return out[i].Offset < out[j].Offset
	})
	return out
}

// writeIndexObject stores entries as one index object, named by its sum.
func writeIndexObject(ctx context.Context, store storage.Store, entries []IndexEntry) (string, error) {
	key, data, err := encodeIndexObject(entries)
	if err != nil {
		return "", err
	}
	if err := store.Put(ctx, key, bytes.NewReader(data)); err != nil {
		return "", fmt.Errorf("write index %s: %w", key, err)
	}
	return key, nil
}

// encodeIndexObject returns the bytes of an index object and its key.
func encodeIndexObject(entries []IndexEntry) (string, []byte, error) {
	if len(entries) == 0 {
		return "", nil, errors.New("empty index")
	}
	var text bytes.Buffer
	if err := WriteIndex(&text, entries); err != nil {
		return "", nil, err
	}
	zc, err := codec.Lookup(codec.Default)
	if err != nil {
		return "", nil, err
	}
	data, err := zc.EncodeBlock(nil, text.Bytes(), 3)
	if err != nil {
		return "", nil, err
	}
	return IndexKey(sha256.Sum256(data)), data, nil
}
