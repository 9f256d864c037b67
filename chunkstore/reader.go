package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
)

// Limits of one ranged read: chunks next to each other in a pack are
// fetched together, up to these sizes, by readWorkers reads at once, so a
// restore makes few requests and keeps at most (readWorkers+2) fetches in
// memory (docs/FORMAT.md).
const (
	fetchStored = 8 << 20
	fetchRaw    = 8 << 20
	readWorkers = 3
)

// fetch is one ranged read and the part bytes it yields, in order.
type fetch struct {
	pack       string
	start, end int64
	chunks     []fetchChunk
	slices     []fetchSlice
	raw        int
	// raws hold the decoded chunks (recycled once Read is past them);
	// out are the slices of them the part consists of.
	raws []*[]byte
	out  [][]byte
	err  error
	done chan struct{}
}

// release returns the fetch's buffers.
func (f *fetch) release() {
	for _, b := range f.raws {
		rawBufs.put(b)
	}
	f.raws, f.out = nil, nil
}

// rawBufs and rangeBufs recycle the buffers of decoded chunks and of
// ranged reads: a restore would otherwise allocate several times the
// bytes it restores, and spend its time collecting them.
var (
	rawBufs   = newBuffers(4*(readWorkers+2)*fetchRaw/(1<<20), 1<<20)
	rangeBufs = newBuffers(readWorkers+1, fetchStored)
)

type fetchChunk struct {
	id  ID
	loc Location
}

type fetchSlice struct {
	chunk  int // index into chunks
	off, n uint32
}

// PartReader streams a chunked part's raw bytes, verifying every chunk
// before handing out any of its bytes.
type PartReader struct {
	ctx    context.Context
	cancel context.CancelFunc
	cs     *Store
	ids    *hasherPool
	ix     *Index
	queue  chan *fetch
	cur    *fetch
	slice  int // index into cur.out
	pos    int // offset in cur.out[slice]
	n      int64
	err    error
}

// OpenPart starts reading the part whose chunk list is list. ix must be
// loaded WithSums.
func (cs *Store) OpenPart(ctx context.Context, list io.Reader, ix *Index, recipients []string) *PartReader {
	ctx, cancel := context.WithCancel(ctx)
	r := &PartReader{ctx: ctx, cancel: cancel, cs: cs, ids: cs.idsFor(recipients), ix: ix, queue: make(chan *fetch, readWorkers+1)}
	work := make(chan *fetch)
	go func() {
		err := r.plan(list, work)
		close(work)
		if err != nil {
			r.queue <- &fetch{err: err, done: closedChan()}
		}
		close(r.queue)
	}()
	for range readWorkers {
		go func() {
			for f := range work {
				f.err = r.load(f)
				close(f.done)
			}
		}()
	}
	return r
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// plan turns the chunk list into fetches, queued in order for Read and
// handed to the workers.
func (r *PartReader) plan(list io.Reader, work chan<- *fetch) error {
	var f *fetch
	send := func() error {
		if f == nil {
			return nil
		}
		f.done = make(chan struct{})
		select {
		case r.queue <- f:
		case <-r.ctx.Done():
			return r.ctx.Err()
		}
		select {
		case work <- f:
		case <-r.ctx.Done():
			return r.ctx.Err()
		}
		f = nil
		return nil
	}
	err := ReadChunkList(list, func(ref Ref) error {
		loc, ok := r.ix.Lookup(ref.ID)
		if !ok {
			return fmt.Errorf("chunk %s: %w: no index names it (a pack or index object is missing)", ref.ID, snapshot.ErrCorrupt)
		}
		if uint64(ref.Offset)+uint64(ref.Length) > uint64(loc.RawSize) {
			return fmt.Errorf("chunk %s: %w: the chunk list reads past its end", ref.ID, snapshot.ErrCorrupt)
		}
		if f != nil {
			if last := len(f.chunks) - 1; f.chunks[last].id == ref.ID {
				f.slices = append(f.slices, fetchSlice{chunk: last, off: ref.Offset, n: ref.Length})
				f.raw += int(ref.Length)
				return nil
			}
			adjacent := f.pack == loc.Pack && f.end == loc.Offset
			if !adjacent || f.end-f.start+int64(loc.StoredSize) > fetchStored || f.raw+int(loc.RawSize) > fetchRaw {
				if err := send(); err != nil {
					return err
				}
			}
		}
		if f == nil {
			f = &fetch{pack: loc.Pack, start: loc.Offset, end: loc.Offset}
		}
		f.chunks = append(f.chunks, fetchChunk{id: ref.ID, loc: loc})
		f.slices = append(f.slices, fetchSlice{chunk: len(f.chunks) - 1, off: ref.Offset, n: ref.Length})
		f.end += int64(loc.StoredSize)
		f.raw += int(ref.Length)
		return nil
	})
	if err != nil {
		return err
	}
	return send()
}

// load reads a fetch's range, opens every chunk in it and assembles the
// slices the part needs.
func (r *PartReader) load(f *fetch) error {
	rb := rangeBufs.get()
	defer rangeBufs.put(rb)
	stored, err := r.readRange(f.pack, f.start, f.end-f.start, rb)
	if err != nil {
		return err
	}
	for _, c := range f.chunks {
		s := stored[c.loc.Offset-f.start : c.loc.Offset-f.start+int64(c.loc.StoredSize)]
		b := rawBufs.get()
		f.raws = append(f.raws, b)
		raw, err := openChunk((*b)[:0], s, c.id, c.loc, r.cs.opts.Identities, r.ids, false)
		if err != nil {
			f.release()
			return err
		}
		*b = raw
	}
	for _, s := range f.slices {
		f.out = append(f.out, (*f.raws[s.chunk])[s.off:s.off+s.n])
	}
	return nil
}

func (r *PartReader) readRange(pack string, off, n int64, buf *[]byte) ([]byte, error) {
	return readRange(r.ctx, r.cs.store, pack, off, n, buf)
}

// readRange reads n bytes of a pack from off into buf (grown if needed; a
// new buffer if nil); a pack that is missing or shorter than that is
// corrupt.
func readRange(ctx context.Context, store storage.Store, pack string, off, n int64, buf *[]byte) ([]byte, error) {
	rc, err := store.GetRange(ctx, pack, off, n)
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrShortObject) {
		return nil, fmt.Errorf("pack %s: %w: %w", pack, snapshot.ErrCorrupt, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read pack %s: %w", pack, err)
	}
	defer rc.Close()
	if buf == nil {
		buf = new([]byte)
	}
	if int64(cap(*buf)) < n {
		*buf = make([]byte, n)
	}
	data := (*buf)[:n]
	if _, err := io.ReadFull(rc, data); err != nil {
		return nil, fmt.Errorf("read pack %s: %w", pack, err)
	}
	return data, nil
}

// Read returns the part's raw bytes in order.
func (r *PartReader) Read(p []byte) (int, error) {
	for r.err == nil && (r.cur == nil || r.slice == len(r.cur.out)) {
		if r.cur != nil {
			r.cur.release()
			r.cur = nil
		}
		f, ok := <-r.queue
		if !ok {
			r.err = io.EOF
			break
		}
		select {
		case <-f.done:
		case <-r.ctx.Done():
			r.err = r.ctx.Err()
			return 0, r.err
		}
		if f.err != nil {
			r.err = f.err
			break
		}
		r.cur, r.slice, r.pos = f, 0, 0
	}
	if r.err != nil {
		return 0, r.err
	}
	n := 0
	for n < len(p) && r.slice < len(r.cur.out) {
		k := copy(p[n:], r.cur.out[r.slice][r.pos:])
		n += k
		r.pos += k
		if r.pos == len(r.cur.out[r.slice]) {
			r.slice, r.pos = r.slice+1, 0
		}
	}
	r.n += int64(n)
	return n, nil
}

// Size is how many raw bytes were read so far.
func (r *PartReader) Size() int64 { return r.n }

// Close stops the readers.
func (r *PartReader) Close() error {
	r.cancel()
	for range r.queue { //nolint:revive // drain so the planner ends
	}
	return nil
}
