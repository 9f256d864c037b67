package zookeeper

import (
	"context"
	"fmt"
	"sync"

	"github.com/go-zookeeper/zk"
)

// resolveMerge fills batch b for Force: nodes that exist get their data
// set in the batch and their ACL afterwards (the returned fixups, or at the
// end of their subtree), the others are created.
func (w *writer) resolveMerge(ctx context.Context, b *batch) ([]fixup, error) {
	exists := make([]bool, len(w.cur))
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i, op := range w.cur {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ok, st, err := w.aux.Exists(ctx, op.target)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && firstErr == nil:
				firstErr = fmt.Errorf("check %s: %w", op.target, err)
			case ok && st.EphemeralOwner != 0 && firstErr == nil:
				firstErr = fmt.Errorf("%s exists in the target as an ephemeral node of a running client: stop it first", op.target)
			}
			exists[i] = ok
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	var after []fixup
	b.ops = make([]any, len(w.cur))
	for i, op := range w.cur {
		if !exists[i] {
			b.ops[i] = &zk.CreateRequest{Path: op.target, Data: op.rec.Data, Acl: op.acl}
			if b.probe == "" {
				b.probe = op.target
			}
			w.created++
			continue
		}
		b.ops[i] = &zk.SetDataRequest{Path: op.target, Data: op.rec.Data, Version: -1}
		w.updated++
		if op.open != nil {
			op.open.acl, op.open.created = op.final, -1
		} else {
			after = append(after, fixup{path: op.target, wait: b.id, acl: op.final})
		}
	}
	return after, nil
}
