package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// fixup is what is left to do for a node once everything below it exists:
// advance its sequence counter, then give it its final ACL (it was created
// with one that let the restore add children).
type fixup struct {
	path string
	wait uint64 // the batch that must be applied first
	seq  int64  // recorded counter
	// created is how many children this restore created under the node
	// (its counter when the restore created it), or -1 when unknown.
	created int64
	acl     []zk.ACL
}

// fixer runs fixups on the auxiliary session, a few at a time, each once
// its batch is applied.
type fixer struct {
	c      *zkconn.Client
	d      *dispatcher
	limit  int
	queue  chan fixup
	once   sync.Once
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
	bumped atomic.Int64 // counters advanced
	acls   atomic.Int64 // ACLs set afterwards
}

func newFixer(ctx context.Context, c *zkconn.Client, d *dispatcher, limit, workers int) *fixer {
	f := &fixer{c: c, d: d, limit: limit, queue: make(chan fixup, 4096)}
	for range workers {
		f.wg.Go(func() {
			for x := range f.queue {
				if f.failed() {
					continue
				}
				if err := f.run(ctx, x); err != nil {
					f.mu.Lock()
					if f.err == nil {
						f.err = err
					}
					f.mu.Unlock()
				}
			}
		})
	}
	return f
}

func (f *fixer) failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err != nil
}

// add queues x; it blocks while the queue is full, which holds the writer
// back when counters take longer than creating nodes.
func (f *fixer) add(ctx context.Context, x fixup) error {
	select {
	case f.queue <- x:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close waits for every queued fixup and returns the first error.
func (f *fixer) close() error {
	f.once.Do(func() { close(f.queue) })
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *fixer) run(ctx context.Context, x fixup) error {
	if err := f.d.waitFor(ctx, x.wait); err != nil {
		return err
	}
	if x.seq > 0 && (x.created < 0 || x.seq > x.created) {
		advanced, err := bump(ctx, f.c, x.path, x.seq, f.limit)
		if err != nil {
			return err
		}
		if advanced {
			f.bumped.Add(1)
		}
	}
	if x.acl != nil {
		if err := f.c.SetACL(ctx, x.path, x.acl); err != nil {
			return fmt.Errorf("set the ACL of %s: %w", x.path, err)
		}
		f.acls.Add(1)
	}
	return nil
}

// bump advances the sequence counter of path to seq: the server numbers a
// sequential child with the count of children ever created under its
// parent, and only a creation raises it. Each multi creates sequential
// dummy children and deletes them again in the same transaction; their
// names are predicted from the counter read just before, so a child
// created meanwhile by someone else makes the multi fail as a whole, and
// it is tried again.
func bump(ctx context.Context, c *zkconn.Client, path string, seq int64, limit int) (bool, error) {
	prefix := zktree.Join(path, "zuulstate-seq-")
	open := zk.WorldACL(zk.PermAll)
	// Sizes count the server path: the chroot is added to every op.
	pair := createOpSize(c.Abs(prefix), nil, open) + deleteOpSize(c.Abs(prefix)+"0000000000")
	perMulti := int64(max(1, min(2000, (limit-multiOverhead)/pair)))
	advanced := false
	for conflicts, lost := 0, 0; ; {
		ok, st, err := c.Exists(ctx, path)
		switch {
		case err != nil:
			return advanced, fmt.Errorf("read the sequence counter of %s: %w", path, err)
		case !ok:
			return advanced, fmt.Errorf("advance the sequence counter of %s: the node is gone", path)
		}
		cur := zktree.SeqOf(*st)
		if cur >= seq {
			return advanced, nil
		}
		n := min(seq-cur, perMulti)
		ops := make([]any, 0, 2*n)
		for range n {
			ops = append(ops, &zk.CreateRequest{Path: prefix, Acl: open, Flags: zk.FlagSequence})
		}
		for i := range n {
			ops = append(ops, &zk.DeleteRequest{Path: fmt.Sprintf("%s%010d", prefix, cur+i), Version: -1})
		}
		res, err := c.Multi(ctx, -1, ops)
		switch {
		case err == nil:
			advanced = true
		case zkconn.Retryable(err) && lost < 10:
			// Applied or not, the counter read next says where it is.
			lost++
		case errors.Is(err, zk.ErrNoNode) && conflicts < 5:
			conflicts++
		default:
			return advanced, fmt.Errorf("advance the sequence counter of %s to %d: %w", path, seq, zkconn.MultiError(ops, res, err))
		}
	}
}
