package chunkstore

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync"

	"github.com/zuulstate/zuulstate/chunker"
	"github.com/zuulstate/zuulstate/dirtar"
)

// PartOptions tune one part.
type PartOptions struct {
	Source, Name string
	Compression  string // codec name; "" is codec.Default
	Level        int    // 0: the codec's default
	// Parent enables the parent cache for tar parts: entries unchanged
	// since this host's last snapshot of the part are reused unread.
	Parent bool
	// ForceRead keeps writing a new parent cache but reuses nothing.
	ForceRead bool
}

// PartStats say what a part cost.
type PartStats struct {
	RawSize   int64 `json:"raw_size"`
	Refs      int64 `json:"refs"`
	NewChunks int64 `json:"new_chunks"`
	NewBytes  int64 `json:"new_bytes"` // stored bytes of the new chunks
	// ReusedRecords and ReusedBytes count tar entries taken from the
	// parent cache without reading them.
	ReusedRecords int64 `json:"reused_records,omitempty"`
	ReusedBytes   int64 `json:"reused_bytes,omitempty"`
}

// PartWriter cuts one part's raw stream into chunks, stores the new ones
// and writes the part's chunk list to list. Byte streams are cut by
// content (FastCDC); tar archives written by dirtar announce their records
// (dirtar.RecordSink), which are grouped or cut on their own and reused
// from the parent cache when unchanged; SQL streams announce where each
// statement ends (EndUnit), and chunks end only there. Not safe for
// concurrent use.
type PartWriter struct {
	s    *Session
	ctx  context.Context
	opts PartOptions
	list *listWriter

	parent    *cacheReader
	next      *cacheWriter
	work      chan *job
	order     chan *job
	collected chan struct{}
	workers   sync.WaitGroup

	mu    sync.Mutex
	err   error
	stats PartStats

	records bool       // a record was announced: this is a tar archive
	units   bool       // a unit end was announced before any byte
	unitLen int        // bytes of the unit being written
	stream  *segment   // whole-stream chunking (not a tar archive)
	big     *segment   // the big record being cut
	group   *[]byte    // small records (and tar padding) being gathered
	spans   []span     // records in group
	cur     *recordRun // the record being written, nil between records
	start   int        // where cur's bytes in group begin
}

// NewPart starts a part whose chunk list goes to list.
func (s *Session) NewPart(ctx context.Context, list io.Writer, o PartOptions) (*PartWriter, error) {
	w := &PartWriter{
		s: s, ctx: ctx, opts: o, list: &listWriter{w: list},
		work: make(chan *job, cap(s.tokens)), order: make(chan *job, cap(s.tokens)), collected: make(chan struct{}),
	}
	if o.Parent && s.cs.opts.StateDir != "" {
		path := parentCachePath(s.cs.opts.StateDir, s.cs.cfg.ID, s.cs.opts.RecipientNames, o.Source, o.Name)
		next, err := createCache(path)
		if err != nil {
			return nil, err
		}
		w.next = next
		if !o.ForceRead {
			w.parent = openCache(path)
		}
	}
	if err := w.list.start(); err != nil {
		return nil, err
	}
	for range runtime.GOMAXPROCS(0) {
		w.workers.Go(w.process)
	}
	go w.collect()
	return w, nil
}

// Unwrap lets dirtar find the RecordSink behind wrappers that count bytes.
var _ dirtar.RecordSink = (*PartWriter)(nil)

// Write takes raw bytes of the part.
func (w *PartWriter) Write(p []byte) (int, error) {
	if err := w.failed(); err != nil {
		return 0, err
	}
	w.stats.RawSize += int64(len(p))
	switch {
	case w.big != nil:
		return w.big.write(p)
	case !w.records && w.cur == nil && !w.units:
		if w.stream == nil {
			w.stream = w.startSegment(nil)
		}
		return w.stream.write(p)
	}
	w.unitLen += len(p)
	n := 0
	for len(p) > 0 {
		if w.group == nil {
			w.group = w.s.getBuf()
		}
		g := *w.group
		k := copy(g[len(g):cap(g)], p)
		*w.group = g[:len(g)+k]
		p, n = p[k:], n+k
		if len(p) > 0 {
			// A record larger than it said, or padding past a full
			// group: cut here; the record continues in the next group.
			if err := w.cutGroup(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// BeginRecord announces a tar entry (dirtar.RecordSink).
func (w *PartWriter) BeginRecord(rec dirtar.Record) (bool, error) {
	if err := w.failed(); err != nil {
		return false, err
	}
	if w.stream != nil || w.cur != nil {
		return false, errors.New("chunkstore: record announced inside a stream or another record")
	}
	w.records = true
	if e, ok := w.parent.lookup(rec.Path); ok && w.reusable(e, rec) {
		return true, w.reuse(e)
	}
	if rec.Size >= int64(chunker.GroupParams.Big) {
		if err := w.cutGroup(); err != nil {
			return false, err
		}
		w.cur = &recordRun{rec: rec}
		w.big = w.startSegment(w.cur)
		return false, nil
	}
	w.cur = &recordRun{rec: rec}
	w.start = 0
	if w.group != nil {
		w.start = len(*w.group)
	}
	return false, nil
}

// ReuseFile reuses a regular file's record from the parent cache when its
// stamp is unchanged (dirtar.RecordSink): the file is not even opened.
func (w *PartWriter) ReuseFile(path string, stamp dirtar.FileStamp) (bool, error) {
	if err := w.failed(); err != nil {
		return false, err
	}
	if w.stream != nil || w.cur != nil {
		return false, errors.New("chunkstore: file announced inside a stream or another record")
	}
	w.records = true
	e, ok := w.parent.lookup(path)
	if !ok || e.Stamp == (dirtar.FileStamp{}) || e.Stamp != stamp || !w.chunksHeld(e) {
		return false, nil
	}
	return true, w.reuse(e)
}

// reuse takes a cached record's slices instead of its bytes.
func (w *PartWriter) reuse(e *cacheEntry) error {
	if err := w.cutGroup(); err != nil {
		return err
	}
	w.stats.RawSize += e.Size
	w.stats.ReusedRecords++
	w.stats.ReusedBytes += e.Size
	return w.push(&job{reuse: e})
}

// reusable: the cached entry describes this very record, and every chunk it
// names is still in the repository.
func (w *PartWriter) reusable(e *cacheEntry, rec dirtar.Record) bool {
	if e.HeaderSum != rec.HeaderSum || e.Stamp != rec.Stamp || e.Size != rec.Size {
		return false
	}
	return w.chunksHeld(e)
}

// chunksHeld: every slice the entry names lies in a chunk the repository
// holds, and together they are the record's size.
func (w *PartWriter) chunksHeld(e *cacheEntry) bool {
	var n int64
	for _, r := range e.Refs {
		raw, ok := w.s.index.RawSize(r.ID)
		if !ok || r.Length == 0 || uint64(r.Offset)+uint64(r.Length) > uint64(raw) { // an empty slice would make the chunk list unreadable
			return false
		}
		n += int64(r.Length)
	}
	return n == e.Size
}

// EndRecord closes the record being written (dirtar.RecordSink).
func (w *PartWriter) EndRecord(cacheable bool) error {
	if w.cur == nil {
		return errors.New("chunkstore: EndRecord without BeginRecord")
	}
	run := w.cur
	run.cacheable = cacheable
	w.cur = nil
	if w.big != nil {
		err := w.big.finish()
		w.big = nil
		if err != nil {
			return err
		}
		return w.push(&job{end: run})
	}
	size := 0
	if w.group != nil {
		size = len(*w.group)
	}
	w.spans = append(w.spans, span{run: run, off: w.start, n: size - w.start, last: true})
	if chunker.GroupParams.CutAfter(size, int(run.rec.Size), w.cutHash(run.rec.HeaderSum[:])) {
		return w.cutGroup()
	}
	return nil
}

// EndUnit says that the bytes written so far end a unit (sqlstream's
// UnitSink): a chunk may end here, and only at such ends. Called before
// any byte, it announces a stream of units; on a stream that started
// without one it does nothing (FastCDC cuts it).
func (w *PartWriter) EndUnit() error {
	if err := w.failed(); err != nil {
		return err
	}
	switch {
	case w.records || w.cur != nil:
		return errors.New("chunkstore: unit ended inside a tar archive")
	case w.stream != nil:
		return nil
	}
	w.units = true
	unit := w.unitLen
	w.unitLen = 0
	if unit == 0 || w.group == nil {
		return nil
	}
	// The decision hashes the unit's last bytes under a secret key: where
	// chunks end depends on content (so later chunks match an earlier
	// dump's again after a change) but cannot be predicted from a guess
	// of it. The unit's end was itself chosen by content.
	g := *w.group
	tail := g[max(0, len(g)-min(unit, 64)):]
	if chunker.UnitParams.CutAfter(len(g), unit, w.cutHash(tail)) {
		return w.cutGroup()
	}
	return nil
}

func (w *PartWriter) cutHash(b []byte) []byte {
	id := w.s.cutKey.id(b)
	return id[:8]
}

// cutGroup makes the gathered bytes one chunk. A record still open keeps
// going in the next group.
func (w *PartWriter) cutGroup() error {
	if w.group == nil || len(*w.group) == 0 {
		return nil
	}
	spans := w.spans
	if w.cur != nil {
		spans = append(spans, span{run: w.cur, off: w.start, n: len(*w.group) - w.start})
	}
	j := &job{buf: w.group, raw: *w.group, spans: spans}
	w.group, w.spans, w.start = nil, nil, 0
	return w.push(j)
}

// Close ends the part: it cuts what is left, waits for every chunk to be
// stored and the chunk list to be written, and returns the part's stats.
func (w *PartWriter) Close() (PartStats, error) {
	var err error
	switch {
	case w.cur != nil:
		err = errors.New("chunkstore: part closed inside a record")
	case w.stream != nil:
		err = w.stream.finish()
	}
	if err == nil {
		err = w.cutGroup()
	}
	close(w.work)
	w.workers.Wait()
	close(w.order)
	<-w.collected
	if err == nil {
		err = w.failed()
	}
	if err == nil {
		err = w.list.finish()
	}
	if w.next != nil {
		if err == nil {
			err = w.next.finish()
		}
		if err != nil {
			w.next.discard()
		} else {
			w.s.addCache(w.next)
		}
	}
	w.parent.close()
	if err != nil {
		return w.stats, err
	}
	w.stats.Refs = w.list.refs
	return w.stats, nil
}

func (w *PartWriter) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

func (w *PartWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Abandon releases a part whose producer failed.
func (w *PartWriter) Abandon(cause error) {
	w.fail(cause)
	// The segments' errors follow from cause, which the caller reports.
	if w.big != nil {
		_ = w.big.abort(cause)
	}
	if w.stream != nil {
		_ = w.stream.abort(cause)
	}
	w.cur = nil
	w.big, w.stream = nil, nil
	_, _ = w.Close()
}
