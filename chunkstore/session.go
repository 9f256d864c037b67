package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/zuulstate/zuulstate/chunker"
	"github.com/zuulstate/zuulstate/codec"
	"github.com/zuulstate/zuulstate/storage"
)

// Session writes the chunks of one new snapshot: every part's chunks go
// into shared packs, and Finish writes one index object for all of them.
// The caller holds the repository lock from Begin to Commit or Abort, so
// no prune removes a chunk this session decided to reuse.
type Session struct {
	cs         *Store
	snapshotID string
	index      *Index
	packs      *packWriter
	cdcKey     []byte
	cutKey     *hasherPool
	// tokens bounds the chunks in flight (cut, hashed, sealed or waiting
	// for the chunk list) over all parts of the session.
	tokens chan struct{}
	bufs   *buffers

	mu      sync.Mutex
	claimed map[ID]struct{}
	caches  []*cacheWriter
	indexes []string
}

// SessionOptions tune a session.
type SessionOptions struct {
	PackSize int // 0: DefaultPackSize
}

// Begin starts the session of snapshot id, loading the index so that only
// chunks the repository does not hold are stored.
func (cs *Store) Begin(ctx context.Context, snapshotID string, o SessionOptions) (*Session, error) {
	if cs.ids == nil {
		return nil, fmt.Errorf("%w: a backup needs it to name chunks", ErrNoChunkKey)
	}
	ix, err := LoadIndex(ctx, cs.store, false)
	if err != nil {
		return nil, err
	}
	s := &Session{
		cs: cs, snapshotID: snapshotID, index: ix,
		packs:   newPackWriter(ctx, cs.store, o.PackSize),
		cdcKey:  derive(cs.key, "cdc gear table"),
		cutKey:  newHasherPool(derive(cs.key, "group cut")),
		tokens:  make(chan struct{}, 2*runtime.GOMAXPROCS(0)+2),
		claimed: map[ID]struct{}{},
	}
	// Chunks in flight, plus the group being gathered of each part.
	s.bufs = newHugeBuffers(cap(s.tokens)+2*runtime.GOMAXPROCS(0), chunker.StreamParams.Max)
	return s, nil
}

// Index is the repository's index as loaded when the session began.
func (s *Session) Index() *Index { return s.index }

// claim reports whether id is new to the repository and to this session,
// and marks it as stored: of two identical chunks cut at once, one is.
func (s *Session) claim(id ID) bool {
	if s.index.Has(id) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.claimed[id]; ok {
		return false
	}
	s.claimed[id] = struct{}{}
	return true
}

func (s *Session) getBuf() *[]byte { return s.bufs.get() }

func (s *Session) putBuf(b *[]byte) {
	if cap(*b) >= chunker.StreamParams.Max {
		s.bufs.put(b)
	}
}

// store seals a new chunk and adds it to a pack; it returns the stored size.
func (s *Session) store(ctx context.Context, id ID, raw []byte, compression string, level int) (int, error) {
	if compression == "" {
		compression = codec.Default
	}
	sealed, release, err := sealChunk(raw, compression, level, s.cs.opts.Recipients)
	if err != nil {
		return 0, err
	}
	defer release()
	if err := s.packs.add(ctx, id, sealed, len(raw), compression, len(s.cs.opts.Recipients) > 0); err != nil {
		return 0, err
	}
	return len(sealed), nil
}

// Finish uploads the last pack, waits for every upload and writes the
// index object naming the new chunks. Chunk lists written before it may
// name chunks only this index knows: the manifest, written after, is what
// makes the snapshot exist.
func (s *Session) Finish(ctx context.Context) error {
	entries, err := s.packs.flush(ctx)
	s.packs.stop()
	if err != nil {
		return err
	}
	for start := 0; start < len(entries); start += maxEntriesPerIndex {
		key, err := writeIndexObject(ctx, s.cs.store, entries[start:min(start+maxEntriesPerIndex, len(entries))])
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.indexes = append(s.indexes, key)
		s.mu.Unlock()
	}
	return nil
}

// maxEntriesPerIndex keeps index objects under about 20 MiB.
const maxEntriesPerIndex = 100_000

// Commit puts this host's new parent caches in place, once the snapshot's
// manifest exists. A failure here only costs the next backup a full read.
func (s *Session) Commit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, c := range s.caches {
		errs = append(errs, c.commit())
	}
	s.caches = nil
	return errors.Join(errs...)
}

// Abort deletes the packs and index objects written so far and drops the
// new parent caches. What it cannot delete, prune removes later.
func (s *Session) Abort(ctx context.Context) error {
	s.mu.Lock()
	caches := s.caches
	s.caches = nil
	s.mu.Unlock()
	for _, c := range caches {
		c.discard()
	}
	s.packs.stop()
	var errs []error
	for _, k := range append(s.indexes, s.packs.written()...) {
		if err := s.cs.store.Delete(ctx, k); err != nil {
			errs = append(errs, fmt.Errorf("delete %s: %w", k, err))
			if errors.Is(err, storage.ErrUnreachable) {
				break
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Session) addCache(c *cacheWriter) {
	s.mu.Lock()
	s.caches = append(s.caches, c)
	s.mu.Unlock()
}
