package zktree

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
)

// Node is one znode as Walk read it.
type Node struct {
	Path string
	Data []byte // nil: the node has no data (null); empty: zero bytes
	ACL  []zk.ACL
	Stat zk.Stat
	// Children is the number of children listed (ephemeral ones included).
	Children int
	// Unreadable is set with AllowNoAuth when the session may not read the
	// node: Data is nil, ACL may be nil, and its children were not listed.
	Unreadable bool
}

// WalkOptions tune Walk.
type WalkOptions struct {
	Exclude     []string // subtrees left out
	Concurrency int      // requests in flight; default 256
	// AheadBytes bounds the data read ahead of emit (plus what is in
	// flight, estimated from the sizes seen so far); default 32 MiB.
	AheadBytes    int64
	KeepEphemeral bool // emit ephemeral nodes instead of skipping them
	// AllowNoAuth marks nodes the session may not read as Unreadable
	// instead of failing (for verifying a restore that set such ACLs).
	AllowNoAuth bool
	MaxRereads  int // default 20
}

// WalkStats counts what one walk saw.
type WalkStats struct {
	Nodes      int64 // emitted
	DataBytes  int64
	Ephemeral  int64 // skipped ephemeral nodes
	Vanished   int64 // listed by their parent but gone when read
	Reread     int64 // read again because their stat moved between requests
	Excluded   int64 // subtrees left out by Exclude
	Unreadable int64 // with AllowNoAuth
}

// ErrNoRoot is returned when the walk's root does not exist.
var ErrNoRoot = errors.New("node does not exist")

const (
	statePending = iota
	stateInflight
	stateReady
)

// entry is one node the walk knows of, from when its parent listed it until
// it is emitted. Its key is the path with '/' replaced by NUL (which no
// name contains), so plain string order is DFSLess order.
type entry struct {
	key   string
	state int
	node  *Node // nil once read: vanished or skipped
	size  int64
}

func sortKey(path string) string { return strings.ReplaceAll(path, "/", "\x00") }

func (e *entry) path() string { return strings.ReplaceAll(e.key, "\x00", "/") }

// walker reads nodes with Concurrency workers, always the pending node that
// comes first in DFSLess order, and emits them strictly in that order. Only
// the nodes between the emitter and the workers are in memory: the children
// lists of the nodes on the current path, and what was read ahead.
type walker struct {
	c     *zkconn.Client
	o     WalkOptions
	excl  map[string]bool
	emit  func(*Node) error
	stats WalkStats

	mu         sync.Mutex
	work, tail *sync.Cond // workers wait on work, the emitter on tail
	pending    minHeap[*entry]
	frontier   minHeap[*entry] // every entry not yet emitted
	ready      minHeap[*entry]
	inflight   int
	readyBytes int64
	avgSize    float64
	err        error
	done       bool
	rootGone   bool
}

// Walk reads the subtree at root, root included, and calls emit for every
// node in depth-first order with siblings sorted by name, from the calling
// goroutine. A child that disappears between being listed and being read is
// counted in Vanished; any other failure to read a node ends the walk with
// an error, so a subtree is never silently missing.
func Walk(ctx context.Context, c *zkconn.Client, root string, o WalkOptions, emit func(*Node) error) (WalkStats, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 256
	}
	if o.AheadBytes <= 0 {
		o.AheadBytes = 32 << 20
	}
	if o.MaxRereads <= 0 {
		o.MaxRereads = 20
	}
	less := func(a, b *entry) bool { return a.key < b.key }
	w := &walker{c: c, o: o, emit: emit, excl: map[string]bool{}, avgSize: 4096,
		pending: minHeap[*entry]{less: less}, frontier: minHeap[*entry]{less: less}, ready: minHeap[*entry]{less: less}}
	w.work, w.tail = sync.NewCond(&w.mu), sync.NewCond(&w.mu)
	for _, e := range o.Exclude {
		w.excl[e] = true
	}
	first := &entry{key: sortKey(root)}
	w.pending.Push(first)
	w.frontier.Push(first)
	stop := context.AfterFunc(ctx, func() {
		w.mu.Lock()
		w.fail(ctx.Err())
		w.mu.Unlock()
	})
	defer stop()
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Go(func() { w.worker(ctx, first) })
	}
	w.emitAll()
	wg.Wait()
	switch {
	case w.err != nil:
		return w.stats, w.err
	case w.rootGone:
		return w.stats, ErrNoRoot
	}
	return w.stats, nil
}

func (w *walker) fail(err error) {
	if w.err == nil {
		w.err = err
	}
	w.work.Broadcast()
	w.tail.Broadcast()
}

// canFetch says whether a worker may read the next pending node: within
// the read-ahead budget, or when that node comes before everything already
// read (the emitter needs it next).
func (w *walker) canFetch() bool {
	if w.pending.Len() == 0 {
		return false
	}
	inflight := int64(w.inflight) * int64(max(w.avgSize, 1024))
	if w.ready.Len() < 8*w.o.Concurrency && w.readyBytes+inflight < w.o.AheadBytes {
		return true
	}
	return inflight < w.o.AheadBytes && (w.ready.Len() == 0 || w.pending.Peek().key < w.ready.Peek().key)
}

func (w *walker) worker(ctx context.Context, root *entry) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		for w.err == nil && !w.done && !w.canFetch() {
			w.work.Wait()
		}
		if w.err != nil || w.done {
			return
		}
		e := w.pending.Pop()
		e.state = stateInflight
		w.inflight++
		w.mu.Unlock()
		p := e.path()
		f, err := w.fetch(ctx, p)
		w.mu.Lock()
		w.inflight--
		if err != nil {
			w.fail(err)
			return
		}
		n, names := f.node, f.names
		w.stats.Reread += int64(f.rereads)
		switch {
		case f.ephemeral:
			w.stats.Ephemeral++
		case f.vanished && e != root:
			w.stats.Vanished++
		case n != nil && n.Unreadable:
			w.stats.Unreadable++
		}
		e.state, e.node = stateReady, n
		if n != nil {
			e.size = int64(len(n.Data))
			w.readyBytes += e.size
			w.avgSize += (float64(e.size) - w.avgSize) / 16
		} else if e == root {
			w.rootGone = true
		}
		w.ready.Push(e)
		for _, name := range names {
			cp := Join(p, name)
			if w.excl[cp] {
				w.stats.Excluded++
				continue
			}
			ce := &entry{key: sortKey(cp)}
			w.pending.Push(ce)
			w.frontier.Push(ce)
		}
		if len(names) > 0 {
			w.work.Broadcast()
		}
		if w.frontier.Peek() == e {
			w.tail.Signal()
		}
	}
}

// emitAll hands nodes to emit in order as they become ready.
func (w *walker) emitAll() {
	w.mu.Lock()
	defer func() {
		w.done = true
		w.work.Broadcast()
		w.mu.Unlock()
	}()
	for {
		for w.err == nil && w.frontier.Len() > 0 && w.frontier.Peek().state != stateReady {
			w.tail.Wait()
		}
		if w.err != nil || w.frontier.Len() == 0 {
			return
		}
		e := w.frontier.Pop()
		w.ready.Pop() // e: the first ready entry is the first of all
		w.readyBytes -= e.size
		w.work.Signal()
		if e.node == nil {
			continue
		}
		w.mu.Unlock()
		err := w.emit(e.node)
		w.mu.Lock()
		if err != nil {
			w.fail(err)
			return
		}
		w.stats.Nodes++
		w.stats.DataBytes += e.size
	}
}
