package zookeeper

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// targetExcludes are the excluded subtrees inside root, as target paths.
func (p *plan) targetExcludes(root string) []string {
	var out []string
	for _, e := range p.sel.Exclude {
		if zktree.Under(e, root) {
			out = append(out, p.mapPath(e))
		}
	}
	return out
}

// wipe deletes the target subtree of every restore root, ephemeral nodes
// included, children first, in ordered multis. Excluded subtrees inside a
// root are kept, and so are the nodes above them.
func (r *Restorer) wipe(ctx context.Context, c, aux *zkconn.Client, pl *plan) (int64, error) {
	d := newDispatcher(ctx, c, r.cfg.InFlight)
	var deleted int64
	var cur *batch
	flush := func() error {
		if cur == nil {
			return nil
		}
		b := cur
		cur = nil
		return d.send(ctx, b)
	}
	for _, root := range pl.sel.Roots {
		target, keep := pl.mapPath(root), pl.targetExcludes(root)
		del := func(p string) error {
			for _, k := range keep {
				if zktree.Under(k, p) {
					return nil
				}
			}
			size := deleteOpSize(c.Abs(p))
			if cur != nil && (len(cur.ops) >= r.cfg.BatchOps || cur.size+size > r.cfg.BatchBytes-multiOverhead) {
				if err := flush(); err != nil {
					return err
				}
			}
			if cur == nil {
				cur = d.newBatch()
				cur.probe, cur.gone = p, true
			}
			cur.ops = append(cur.ops, &zk.DeleteRequest{Path: p, Version: -1})
			cur.size += size
			deleted++
			return nil
		}
		var stack []string
		_, err := zktree.Walk(ctx, aux, target, zktree.WalkOptions{Exclude: keep, KeepEphemeral: true, Concurrency: r.cfg.Concurrency},
			func(n *zktree.Node) error {
				for len(stack) > 0 && !zktree.Under(n.Path, stack[len(stack)-1]) {
					if err := del(stack[len(stack)-1]); err != nil {
						return err
					}
					stack = stack[:len(stack)-1]
				}
				stack = append(stack, n.Path)
				return nil
			})
		if err != nil && !errors.Is(err, zktree.ErrNoRoot) {
			return deleted, fmt.Errorf("wipe %s: %w", target, err)
		}
		for len(stack) > 0 {
			if err := del(stack[len(stack)-1]); err != nil {
				return deleted, err
			}
			stack = stack[:len(stack)-1]
		}
	}
	if err := flush(); err != nil {
		return deleted, err
	}
	if err := d.wait(ctx); err != nil {
		return deleted, fmt.Errorf("wipe: %w", err)
	}
	return deleted, nil
}
