package zookeeper

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// expectation is one restore root as the target must hold it once
// restored, taken from the part while it is inspected.
type expectation struct {
	nodes int64
	// target hashes the fingerprint of every node in walk order.
	target hash.Hash
	// identity hashes zktree.AppendIdentity of every record, which is what
	// the manifest's digest of a whole subtree covers.
	identity hash.Hash
}

func newExpectation() *expectation {
	return &expectation{target: sha256.New(), identity: sha256.New()}
}

func (e *expectation) add(rec *zktree.Record, target string, acl []zk.ACL) {
	e.nodes++
	e.target.Write(fingerprint(target, rec.Data, acl, rec.Seq))
	e.identity.Write(zktree.AppendIdentity(nil, rec.Path, rec.Data, rec.ACL))
}

// fingerprint is what the read-back compares of one node: its path, data
// (null apart from empty), ACL and sequence counter.
func fingerprint(path string, data []byte, acl []zk.ACL, seq int64) []byte {
	return binary.AppendVarint(zktree.AppendIdentity(nil, path, data, acl), seq)
}

// wantACL is the ACL a record's node gets in the target.
func (r *Restorer) wantACL(rec *zktree.Record) []zk.ACL {
	if len(r.cfg.ReplaceACLs) > 0 {
		return r.cfg.ReplaceACLs
	}
	return rec.ACL
}

// errUnreadable stops a read-back walk at a node this session may not read.
var errUnreadable = errors.New("node not readable")

// readBack walks every restored subtree of the target and compares it, as
// a whole, with what inspecting the part expected. It returns the checks
// when everything matches. It returns none when it cannot tell, and verify
// then compares node by node, reading the part once more: when merging
// (--force) the target may hold other nodes and higher counters, a node
// this session may not read has no data to compare, and a difference
// needs the records to say which node differs and how.
func (r *Restorer) readBack(ctx context.Context, pl *plan, sc *scan) ([]*rootCheck, error) {
	if r.cfg.Force {
		return nil, nil
	}
	_, aux, err := r.conns(ctx)
	if err != nil {
		return nil, err
	}
	var checks []*rootCheck
	for _, root := range pl.sel.Roots {
		want, got := sc.expected[root], sha256.New()
		var nodes int64
		emit := func(n *zktree.Node) error {
			if n.Unreadable {
				return errUnreadable
			}
			nodes++
			got.Write(fingerprint(n.Path, n.Data, n.ACL, zktree.SeqOf(n.Stat)))
			return nil
		}
		target := pl.mapPath(root)
		_, err := zktree.Walk(ctx, aux, target, zktree.WalkOptions{Exclude: pl.targetExcludes(root), AllowNoAuth: true, Concurrency: r.cfg.Concurrency}, emit)
		switch {
		case errors.Is(err, errUnreadable), errors.Is(err, zktree.ErrNoRoot):
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("verify %s: %w", target, err)
		case nodes != want.nodes || !bytes.Equal(got.Sum(nil), want.target.Sum(nil)):
			return nil, nil
		}
		checks = append(checks, &rootCheck{root: root, target: target, expected: nodes, found: nodes, digest: want.identity})
	}
	return checks, nil
}
