package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// batch is one ordered write: a multi of operations, or a single container
// or TTL create (which multi cannot carry in go-zookeeper).
type batch struct {
	id   uint64
	ops  []any
	size int
	// single, when set, is a container or TTL create, by kind.
	single *zk.CreateTTLRequest
	kind   zktree.Kind
	// probe tells, after a lost connection, whether the batch was applied:
	// the node at probe exists (or, with gone, does not).
	probe string
	gone  bool
}

// dispatcher sends batches on one session in the order they were made,
// with up to InFlight of them in flight: each is queued only once the one
// before it is on its way (zkconn.Client.OrderedWrites), and the server
// applies them in that order, so a batch may create children of nodes in
// the batch before it. A batch whose reply was lost to a dropped
// connection is checked and, if it was not applied, sent again before
// anything after it.
type dispatcher struct {
	c   *zkconn.Client
	sem chan struct{}

	mu        sync.Mutex
	cond      *sync.Cond
	lastID    uint64
	done      map[uint64]bool
	watermark uint64 // every batch up to here is applied
	inflight  int
	uncertain []*batch
	// recovering is set while uncertain batches are settled; nothing
	// else is sent meanwhile.
	recovering bool
	settled    int64 // batches settled after a lost connection
	err        error
	errID      uint64
}

func newDispatcher(ctx context.Context, c *zkconn.Client, inFlight int) *dispatcher {
	d := &dispatcher{c: c, sem: make(chan struct{}, inFlight), done: map[uint64]bool{}}
	d.cond = sync.NewCond(&d.mu)
	context.AfterFunc(ctx, func() {
		d.mu.Lock()
		d.cond.Broadcast()
		d.mu.Unlock()
	})
	return d
}

// newBatch reserves the next id.
func (d *dispatcher) newBatch() *batch {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lastID++
	return &batch{id: d.lastID}
}

// send queues b (made by newBatch, sent in id order) and returns once it
// is on its way, or with the first failure so far.
func (d *dispatcher) send(ctx context.Context, b *batch) error {
	if err := d.recover(ctx); err != nil {
		return err
	}
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	d.mu.Lock()
	if err := d.err; err != nil {
		d.mu.Unlock()
		<-d.sem
		return err
	}
	d.inflight++
	d.mu.Unlock()
	n := d.c.OrderedWrites()
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		err := d.run(ctx, b)
		<-d.sem
		d.complete(b, err)
	}()
	return d.c.WaitOrderedWrite(ctx, n, finished)
}

func (d *dispatcher) run(ctx context.Context, b *batch) error {
	switch {
	case b.single != nil && b.kind == zktree.KindContainer:
		return d.c.CreateContainer(ctx, b.single.Path, b.single.Data, b.single.Acl)
	case b.single != nil:
		err := d.c.CreateTTL(ctx, b.single.Path, b.single.Data, b.single.Acl, time.Duration(b.single.Ttl)*time.Millisecond)
		if errors.Is(err, zkconn.ErrUnimplemented) {
			err = fmt.Errorf("create TTL node %s: %w: the target needs -Dzookeeper.extendedTypesEnabled=true", b.single.Path, err)
		}
		return err
	}
	res, err := d.c.Multi(ctx, 0, b.ops)
	return zkconn.MultiError(b.ops, res, err)
}

func (d *dispatcher) complete(b *batch, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inflight--
	switch {
	case err == nil:
		d.done[b.id] = true
		for d.done[d.watermark+1] {
			delete(d.done, d.watermark+1)
			d.watermark++
		}
	case zkconn.Retryable(err),
		// The missing parent may be created by an earlier batch whose reply
		// was lost to a dropped connection, and this one was sent on the
		// new session before that batch was settled. Settle this one after
		// it, in order; a parent that is really missing fails it then.
		errors.Is(err, zk.ErrNoNode) && b.id > d.watermark+1:
		d.uncertain = append(d.uncertain, b)
	case d.err == nil || b.id < d.errID:
		d.err, d.errID = err, b.id
	}
	d.cond.Broadcast()
}

// recover waits for the batches in flight, then settles the ones whose
// reply was lost, in order: applied ones are done, others are sent again.
func (d *dispatcher) recover(ctx context.Context) error {
	d.mu.Lock()
	for d.recovering && ctx.Err() == nil {
		d.cond.Wait()
	}
	if len(d.uncertain) == 0 || ctx.Err() != nil {
		err := d.err
		d.mu.Unlock()
		if err == nil {
			err = ctx.Err()
		}
		return err
	}
	d.recovering = true
	for d.inflight > 0 && ctx.Err() == nil {
		d.cond.Wait()
	}
	list := d.uncertain
	d.uncertain = nil
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.recovering = false
		d.cond.Broadcast()
		d.mu.Unlock()
	}()
	slices.SortFunc(list, func(a, b *batch) int { return int(a.id) - int(b.id) }) //nolint:gosec // ids are small
	for _, b := range list {
		var err error
		for attempt := 0; attempt < 10; attempt++ {
			var applied bool
			if applied, err = d.applied(ctx, b); err != nil {
				break
			}
			if applied {
				break
			}
			if err = d.run(ctx, b); err == nil || !zkconn.Retryable(err) {
				break
			}
			time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
		}
		d.mu.Lock()
		d.inflight++
		d.settled++
		d.mu.Unlock()
		d.complete(b, err)
		if err != nil && !zkconn.Retryable(err) {
			return err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err == nil && len(d.uncertain) > 0 {
		d.err = fmt.Errorf("%s: writes keep failing after the connection was lost", d.c)
	}
	return d.err
}

func (d *dispatcher) applied(ctx context.Context, b *batch) (bool, error) {
	if b.probe == "" {
		return false, nil
	}
	ok, _, err := d.c.Exists(ctx, b.probe)
	return ok != b.gone, err
}

// wait blocks until every batch sent is settled and returns the first
// failure.
func (d *dispatcher) wait(ctx context.Context) error {
	for {
		d.mu.Lock()
		for d.inflight > 0 && ctx.Err() == nil {
			d.cond.Wait()
		}
		pending := len(d.uncertain)
		d.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return err
		}
		if pending == 0 {
			break
		}
		if err := d.recover(ctx); err != nil {
			return err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// waitFor blocks until batch id is applied (or the restore failed).
func (d *dispatcher) waitFor(ctx context.Context, id uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.watermark < id && d.err == nil && ctx.Err() == nil {
		if len(d.uncertain) > 0 && !d.recovering && d.inflight == 0 {
			d.mu.Unlock()
			err := d.recover(ctx)
			d.mu.Lock()
			if err != nil {
				return err
			}
			continue
		}
		d.cond.Wait()
	}
	if d.err != nil {
		return d.err
	}
	return ctx.Err()
}

// last is the id of the last batch made.
func (d *dispatcher) last() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lastID
}
