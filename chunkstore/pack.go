package chunkstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/zuulstate/zuulstate/codec"
	"github.com/zuulstate/zuulstate/storage"
)

// DefaultPackSize is the size a pack is sealed at: 16 MiB, as restic, keeps
// the requests for 1 GiB near 64 while the packs being filled and uploaded
// (one filling, two uploading) stay under 50 MiB of memory.
const DefaultPackSize = 16 << 20

// packMagic ends every pack, after the trailer length.
const packMagic = "ZSPACK01"

// packWriter gathers sealed chunks into packs and uploads each pack once it
// reaches its size, at most two at a time. It is shared by every part of a
// snapshot, so small parts do not make small packs. Safe for concurrent use.
type packWriter struct {
	store  storage.Store
	target int
	slots  chan struct{}
	// ctx carries the uploads: a pack filled by one part is still being
	// uploaded when that part (and its context) has ended; stop cancels.
	ctx  context.Context
	stop context.CancelFunc

	mu      sync.Mutex
	cur     []byte
	pending []IndexEntry // chunks of cur, Pack unset until sealed
	done    []IndexEntry
	keys    []string // packs uploaded, for abort
	err     error
	wg      sync.WaitGroup
	// buffers recycles pack buffers once uploaded: at most three exist.
	buffers *buffers
}

// newBuffer returns an empty pack buffer with room for a full pack, its
// last chunk and its trailer.
func (pw *packWriter) newBuffer() []byte { return *pw.buffers.get() }

// packSlack is room past the target for the chunk that fills a pack and
// for its trailer; a chunk that does not fit seals the pack before it, so
// a pack buffer never grows.
const packSlack = 1 << 20

func newPackWriter(ctx context.Context, store storage.Store, target int) *packWriter {
	if target <= 0 {
		target = DefaultPackSize
	}
	pw := &packWriter{store: store, target: target, slots: make(chan struct{}, 2), buffers: newHugeBuffers(3, target+packSlack)}
	pw.ctx, pw.stop = context.WithCancel(context.WithoutCancel(ctx))
	return pw
}

// add appends one sealed chunk. When the pack is full it is sealed and its
// upload started; add blocks while two uploads are already running.
func (pw *packWriter) add(ctx context.Context, id ID, stored []byte, rawSize int, compression string, encrypted bool) error {
	sum := sha256.Sum256(stored)
	pw.mu.Lock()
	if pw.err != nil {
		defer pw.mu.Unlock()
		return pw.err
	}
	var full []byte
	var entries []IndexEntry
	if len(pw.cur) > 0 && len(pw.cur)+len(stored) > pw.target+packSlack/2 {
		full, entries = pw.cur, pw.pending
		pw.cur, pw.pending = pw.newBuffer(), nil
	}
	pw.pending = append(pw.pending, IndexEntry{ID: id, Location: Location{
		Offset: int64(len(pw.cur)), StoredSize: uint32(len(stored)), RawSize: uint32(rawSize),
		StoredSHA: sum, Compression: compression, Encrypted: encrypted,
	}})
	if pw.cur == nil {
		pw.cur = pw.newBuffer()
	}
	pw.cur = append(pw.cur, stored...)
	if full == nil && len(pw.cur) >= pw.target {
		full, entries = pw.cur, pw.pending
		pw.cur, pw.pending = pw.newBuffer(), nil
	}
	pw.mu.Unlock()
	if full != nil {
		return pw.upload(ctx, full, entries)
	}
	return nil
}

// flush seals and uploads what is left, waits for every upload and returns
// the index entries of all packs written.
func (pw *packWriter) flush(ctx context.Context) ([]IndexEntry, error) {
	defer context.AfterFunc(ctx, pw.stop)()
	pw.mu.Lock()
	full, entries := pw.cur, pw.pending
	pw.cur, pw.pending = nil, nil
	pw.mu.Unlock()
	if len(entries) > 0 {
		if err := pw.upload(ctx, full, entries); err != nil {
			return nil, err
		}
	}
	pw.wg.Wait()
	pw.mu.Lock()
	defer pw.mu.Unlock()
	return pw.done, pw.err
}

func (pw *packWriter) upload(ctx context.Context, data []byte, entries []IndexEntry) error {
	data, err := appendTrailer(data, entries)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	key := PackKey(sum)
	for i := range entries {
		entries[i].Pack, entries[i].PackSize = key, int64(len(data))
	}
	select {
	case pw.slots <- struct{}{}:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	pw.mu.Lock()
	pw.keys = append(pw.keys, key)
	pw.mu.Unlock()
	pw.wg.Go(func() {
		defer func() { <-pw.slots }()
		err := pw.store.Put(pw.ctx, key, bytes.NewReader(data))
		pw.buffers.put(&data)
		pw.mu.Lock()
		defer pw.mu.Unlock()
		if err != nil {
			pw.err = errors.Join(pw.err, fmt.Errorf("upload pack %s: %w", key, err))
			return
		}
		pw.done = append(pw.done, entries...)
	})
	return nil
}

// written returns the keys of every pack whose upload started.
func (pw *packWriter) written() []string {
	pw.wg.Wait()
	pw.mu.Lock()
	defer pw.mu.Unlock()
	return append([]string(nil), pw.keys...)
}

// appendTrailer ends a pack with its own table of chunks (an index without
// pack columns, zstd-compressed), the table's length and the magic, so a
// pack can be read without the index: `zuulstate verify --deep` compares
// the two.
func appendTrailer(data []byte, entries []IndexEntry) ([]byte, error) {
	var table bytes.Buffer
	if err := WriteIndex(&table, entries); err != nil {
		return nil, err
	}
	zc, err := codec.Lookup(codec.Default)
	if err != nil {
		return nil, err
	}
	start := len(data)
	data, err = zc.EncodeBlock(data, table.Bytes(), 0)
	if err != nil {
		return nil, err
	}
	data = binary.BigEndian.AppendUint64(data, uint64(len(data)-start))
	return append(data, packMagic...), nil
}

// maxTrailer bounds a pack's table: 16 MiB of text is over 70,000 chunks,
// far more than a pack of any sane size holds.
const maxTrailer = 16 << 20

// ReadPackTrailer parses the table at the end of a pack's bytes. It checks
// that every chunk lies within the pack, before the table.
func ReadPackTrailer(pack []byte) ([]IndexEntry, error) {
	if len(pack) < 16 || string(pack[len(pack)-8:]) != packMagic {
		return nil, errors.New("pack: no trailer magic at its end")
	}
	n := binary.BigEndian.Uint64(pack[len(pack)-16:])
	end := uint64(len(pack) - 16)
	if n > end || n > maxTrailer {
		return nil, fmt.Errorf("pack: trailer length %d out of range", n)
	}
	return decodeTrailer(pack[end-n:end], end-n)
}

// decodeTrailer parses a pack's compressed table; chunks must end within
// the first area bytes of the pack.
func decodeTrailer(compressed []byte, area uint64) ([]IndexEntry, error) {
	zc, err := codec.Lookup(codec.Default)
	if err != nil {
		return nil, err
	}
	table, err := zc.DecodeBlock(nil, compressed, 4*maxTrailer)
	if err != nil {
		return nil, fmt.Errorf("pack: trailer: %w", err)
	}
	var out []IndexEntry
	err = readIndex(bytes.NewReader(table), true, func(e IndexEntry) error {
		if uint64(e.Offset)+uint64(e.StoredSize) > area {
			return fmt.Errorf("pack: chunk %s lies beyond the chunk area", e.ID)
		}
		out = append(out, e)
		return nil
	})
	return out, err
}
