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
	out        []byte
	err        error
	done       chan struct{}
}

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
	ix     *Index
	queue  chan *fetch
	cur    *fetch
	pos    int
	n      int64
	err    error
}

// OpenPart starts reading the part whose chunk list is list. ix must be
// loaded WithSums.
func (cs *Store) OpenPart(ctx context.Context, list io.Reader, ix *Index) *PartReader {
	ctx, cancel := context.WithCancel(ctx)
	r := &PartReader{ctx: ctx, cancel: cancel, cs: cs, ix: ix, queue: make(chan *fetch, readWorkers+1)}
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
	stored, err := r.readRange(f.pack, f.start, f.end-f.start)
	if err != nil {
		return err
	}
	raws := make([][]byte, len(f.chunks))
	for i, c := range f.chunks {
		s := stored[c.loc.Offset-f.start : c.loc.Offset-f.start+int64(c.loc.StoredSize)]
		if raws[i], err = openChunk(nil, s, c.id, c.loc, r.cs.opts.Identities, r.cs.ids); err != nil {
			return err
		}
	}
	f.out = make([]byte, 0, f.raw)
	for _, s := range f.slices {
		f.out = append(f.out, raws[s.chunk][s.off:s.off+s.n]...)
	}
	return nil
}

func (r *PartReader) readRange(pack string, off, n int64) ([]byte, error) {
	return readRange(r.ctx, r.cs.store, pack, off, n)
}

// readRange reads n bytes of a pack from off; a pack that is missing or
// shorter than that is corrupt.
func readRange(ctx context.Context, store storage.Store, pack string, off, n int64) ([]byte, error) {
	rc, err := store.GetRange(ctx, pack, off, n)
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrShortObject) {
		return nil, fmt.Errorf("pack %s: %w: %w", pack, snapshot.ErrCorrupt, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read pack %s: %w", pack, err)
	}
	defer rc.Close()
	buf := make([]byte, n)
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, fmt.Errorf("read pack %s: %w", pack, err)
	}
	return buf, nil
}

// Read returns the part's raw bytes in order.
func (r *PartReader) Read(p []byte) (int, error) {
	for r.err == nil && (r.cur == nil || r.pos == len(r.cur.out)) {
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
		r.cur, r.pos = f, 0
	}
	if r.err != nil {
		return 0, r.err
	}
	n := copy(p, r.cur.out[r.pos:])
	r.pos += n
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
