package chunkstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/zuulstate/zuulstate/codec"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
)

// Index is every index object of a repository, in memory, as one array
// sorted by chunk id (binary search): 52 bytes a chunk, plus 32 of stored
// checksum when loaded WithSums (restore and verify need them, a backup
// does not). docs/FORMAT.md projects it to large repositories.
type Index struct {
	packs   []packInfo
	packIdx map[string]uint32
	codecs  []string
	ids     []ID
	slots   []slot
	sums    [][32]byte // nil unless loaded with sums
	objects []string   // index object keys
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
		parsed[i] = nil
		ix.objects = append(ix.objects, keys[i])
	}
	ix.seal()
	return ix, nil
}

func newIndex(withSums bool) *Index {
	ix := &Index{packIdx: map[string]uint32{}}
	if withSums {
		ix.sums = [][32]byte{}
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

// add appends e; seal sorts. Of several locations of one id (a crash
// during repack leaves a chunk in two packs, both intact), the first added
// wins.
func (ix *Index) add(e IndexEntry) {
	p, ok := ix.packIdx[e.Pack]
	if !ok {
		p = uint32(len(ix.packs))
		ix.packs = append(ix.packs, packInfo{key: e.Pack, size: e.PackSize})
		ix.packIdx[e.Pack] = p
	}
	c := slices.Index(ix.codecs, e.Compression)
	if c < 0 {
		c = len(ix.codecs)
		ix.codecs = append(ix.codecs, e.Compression)
	}
	ix.ids = append(ix.ids, e.ID)
	ix.slots = append(ix.slots, slot{pack: p, offset: uint32(e.Offset), stored: e.StoredSize, raw: e.RawSize, codec: uint8(c), encrypted: e.Encrypted})
	if ix.sums != nil {
		ix.sums = append(ix.sums, e.StoredSHA)
	}
}

// seal sorts the entries by id, keeping the first of duplicates.
func (ix *Index) seal() {
	sort.Stable(byID{ix})
	out := 0
	for i := range ix.ids {
		if i > 0 && ix.ids[i] == ix.ids[out-1] {
			continue
		}
		ix.ids[out], ix.slots[out] = ix.ids[i], ix.slots[i]
		if ix.sums != nil {
			ix.sums[out] = ix.sums[i]
		}
		out++
	}
	ix.ids, ix.slots = slices.Clip(ix.ids[:out]), slices.Clip(ix.slots[:out])
	if ix.sums != nil {
		ix.sums = slices.Clip(ix.sums[:out])
	}
}

type byID struct{ ix *Index }

func (b byID) Len() int           { return len(b.ix.ids) }
func (b byID) Less(i, j int) bool { return bytes.Compare(b.ix.ids[i][:], b.ix.ids[j][:]) < 0 }
func (b byID) Swap(i, j int) {
	ix := b.ix
	ix.ids[i], ix.ids[j] = ix.ids[j], ix.ids[i]
	ix.slots[i], ix.slots[j] = ix.slots[j], ix.slots[i]
	if ix.sums != nil {
		ix.sums[i], ix.sums[j] = ix.sums[j], ix.sums[i]
	}
}

func (ix *Index) find(id ID) (int, bool) {
	return slices.BinarySearchFunc(ix.ids, id, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
}

// Has reports whether the repository holds chunk id.
func (ix *Index) Has(id ID) bool { _, ok := ix.find(id); return ok }

// RawSize returns a held chunk's raw size.
func (ix *Index) RawSize(id ID) (uint32, bool) {
	i, ok := ix.find(id)
	if !ok {
		return 0, false
	}
	return ix.slots[i].raw, true
}

// Lookup returns where chunk id is stored.
func (ix *Index) Lookup(id ID) (Location, bool) {
	i, ok := ix.find(id)
	if !ok {
		return Location{}, false
	}
	return ix.location(i), true
}

func (ix *Index) location(i int) Location {
	s := ix.slots[i]
	p := ix.packs[s.pack]
	loc := Location{Pack: p.key, PackSize: p.size, Offset: int64(s.offset), StoredSize: s.stored, RawSize: s.raw,
		Compression: ix.codecs[s.codec], Encrypted: s.encrypted}
	if ix.sums != nil {
		loc.StoredSHA = ix.sums[i]
	}
	return loc
}

// Len is the number of chunks.
func (ix *Index) Len() int { return len(ix.ids) }

// Objects returns the keys of the index objects loaded.
func (ix *Index) Objects() []string { return ix.objects }

// Packs returns every pack the index names, with its size.
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
	out := make([]IndexEntry, len(ix.ids))
	for i, id := range ix.ids {
		out[i] = IndexEntry{ID: id, Location: ix.location(i)}
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
