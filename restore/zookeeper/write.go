package zookeeper

import (
	"context"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// openNode is a restored node whose subtree is still being written.
type openNode struct {
	path    string
	seq     int64
	created int64    // children created under it; -1 when it existed
	acl     []zk.ACL // final ACL, when created with a temporary one
}

// pendingOp is a node in the batch being assembled.
type pendingOp struct {
	rec    *zktree.Record
	target string
	acl    []zk.ACL // to create with
	final  []zk.ACL
	open   *openNode
}

// writer turns the stream of records into batches and fixups.
type writer struct {
	r       *Restorer
	pl      *plan
	d       *dispatcher
	fix     *fixer
	aux     *zkconn.Client
	merge   bool
	limit   int
	temp    []zk.ACL // lets this session add children and bump counters
	digest  string
	stack   []*openNode
	cur     []pendingOp
	curID   *batch
	curSize int

	created, updated, tempACL int64
	lastLog                   time.Time
}

func (w *writer) add(ctx context.Context, rec *zktree.Record) error {
	target := w.pl.mapPath(rec.Path)
	if err := w.closeUntil(ctx, target); err != nil {
		return err
	}
	if n := len(w.stack); n > 0 && zktree.Parent(target) == w.stack[n-1].path {
		w.stack[n-1].created++
	}
	final := rec.ACL
	if len(w.r.cfg.ReplaceACLs) > 0 {
		final = w.r.cfg.ReplaceACLs
	}
	op := pendingOp{rec: rec, target: target, acl: final, final: final}
	if rec.Stat.NumChildren > 0 || rec.Seq > 0 {
		on := &openNode{path: target, seq: rec.Seq}
		if !zkconn.Grants(final, zk.PermCreate|zk.PermDelete, w.digest) {
			// The recorded ACL would lock this session out of adding the
			// children; it is set once they exist.
			op.acl, on.acl = w.temp, final
			w.tempACL++
		}
		op.open = on
		w.stack = append(w.stack, on)
	}
	if rec.Kind != zktree.KindPersistent {
		if err := w.flush(ctx); err != nil {
			return err
		}
		return w.single(ctx, op)
	}
	size := createOpSize(w.d.c.Abs(target), rec.Data, op.acl)
	if len(w.cur) > 0 && (len(w.cur) >= w.r.cfg.BatchOps || w.curSize+size > w.limit-multiOverhead) {
		if err := w.flush(ctx); err != nil {
			return err
		}
	}
	if w.curID == nil {
		w.curID = w.d.newBatch()
	}
	w.cur = append(w.cur, op)
	w.curSize += size
	if time.Since(w.lastLog) > 10*time.Second {
		w.lastLog = time.Now()
		w.r.cfg.Log.Info("zookeeper restore in progress", "nodes_written", w.created+w.updated)
	}
	return nil
}

// closeUntil finishes the open nodes that target is not under: their
// subtrees are complete, so their counters and ACLs can be fixed up once
// the batch holding their last descendant is applied.
func (w *writer) closeUntil(ctx context.Context, target string) error {
	for n := len(w.stack); n > 0; n = len(w.stack) {
		top := w.stack[n-1]
		if target != "" && zktree.Under(target, top.path) {
			return nil
		}
		w.stack = w.stack[:n-1]
		if top.acl == nil && (top.seq == 0 || (top.created >= 0 && top.seq <= top.created)) {
			continue
		}
		wait := w.d.last()
		if w.curID != nil {
			wait = w.curID.id
		}
		if err := w.fix.add(ctx, fixup{path: top.path, wait: wait, seq: top.seq, created: top.created, acl: top.acl}); err != nil {
			return err
		}
	}
	return nil
}

// flush sends the batch being assembled.
func (w *writer) flush(ctx context.Context) error {
	if len(w.cur) == 0 {
		return nil
	}
	b := w.curID
	var after []fixup
	if w.merge {
		var err error
		if after, err = w.resolveMerge(ctx, b); err != nil {
			return err
		}
	} else {
		b.ops = make([]any, len(w.cur))
		for i, op := range w.cur {
			b.ops[i] = &zk.CreateRequest{Path: op.target, Data: op.rec.Data, Acl: op.acl}
		}
		b.probe = w.cur[0].target
		w.created += int64(len(w.cur))
	}
	b.size = w.curSize
	w.cur, w.curID, w.curSize = w.cur[:0], nil, 0
	if err := w.d.send(ctx, b); err != nil {
		return err
	}
	for _, x := range after {
		if err := w.fix.add(ctx, x); err != nil {
			return err
		}
	}
	return nil
}

// single sends a container or TTL create on its own (multis of
// go-zookeeper carry only plain creates).
func (w *writer) single(ctx context.Context, op pendingOp) error {
	if w.merge {
		exists, _, err := w.aux.Exists(ctx, op.target)
		if err != nil {
			return err
		}
		if exists {
			w.r.cfg.Log.Warn("node exists in the target; its data and ACL are restored, its kind cannot be changed", "path", op.target)
			w.curID = w.d.newBatch()
			w.cur = append(w.cur, op)
			return w.flush(ctx)
		}
	}
	b := w.d.newBatch()
	b.single = &zk.CreateTTLRequest{Path: op.target, Data: op.rec.Data, Acl: op.acl, Ttl: op.rec.TTL.Milliseconds()}
	b.kind, b.probe = op.rec.Kind, op.target
	w.created++
	return w.d.send(ctx, b)
}

// finish sends what is left, fixes up every open node and waits.
func (w *writer) finish(ctx context.Context) error {
	err := w.flush(ctx)
	if err == nil {
		err = w.closeUntil(ctx, "")
	}
	if err == nil {
		err = w.d.wait(ctx)
	}
	if ferr := w.fix.close(); err == nil {
		err = ferr
	}
	return err
}
