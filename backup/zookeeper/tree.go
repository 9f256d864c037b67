package zookeeper

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/zuulstate/zuulstate/backup"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// treeWriter produces the tree part and feeds the keys part.
type treeWriter struct {
	s          *Snapshotter
	c          *zkconn.Client
	sel        zktree.Selection
	meta       zktree.TreeMeta
	keys       chan keyNode
	keysClosed bool
	declared   map[string]bool // declared container and TTL paths seen
}

func (s *Snapshotter) newTreeWriter(c *zkconn.Client, sel zktree.Selection) *treeWriter {
	profile := s.cfg.Profile
	if profile == "" {
		profile = zktree.ProfileZuul
	}
	return &treeWriter{s: s, c: c, sel: sel, declared: map[string]bool{}, meta: zktree.TreeMeta{
		Format: 1, Profile: profile, Servers: s.cfg.Conn.Servers, Chroot: s.cfg.Conn.Chroot, Exclude: sel.Exclude,
	}}
}

func (t *treeWriter) write(ctx context.Context, out io.Writer) (any, error) {
	m := &t.meta
	enc, err := zktree.NewEncoder(out, zktree.Header{Format: 1, Created: time.Now().UTC(), Servers: m.Servers, Chroot: m.Chroot,
		ServerVersion: m.ServerVersion, Profile: m.Profile, Roots: t.sel.Roots, Exclude: t.sel.Exclude})
	if err != nil {
		return nil, err
	}
	for _, root := range t.sel.Roots {
		rm, err := t.walkRoot(ctx, enc, root)
		if err != nil {
			return nil, err
		}
		m.Roots = append(m.Roots, rm)
	}
	if m.ZxidAfter, err = t.c.Fence(ctx); err != nil {
		return nil, err
	}
	m.Retries = t.c.Retries()
	t.warnings()
	if m.Nodes == 0 {
		return nil, fmt.Errorf("%w: none of the selected paths exist in %s", backup.ErrEmptySource, t.c)
	}
	if err := enc.Close(zktree.Trailer{Nodes: m.Nodes, Roots: m.Roots}); err != nil {
		return nil, err
	}
	if t.keys != nil {
		select {
		case t.keys <- keyNode{done: true}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		close(t.keys)
		t.keysClosed = true
	}
	t.s.log.Info("zookeeper tree read", "nodes", m.Nodes, "data_bytes", m.DataBytes, "ephemeral_skipped", m.EphemeralSkipped,
		"changed_during_walk", m.ChangedDuringWalk, "zxid_before", m.ZxidBefore, "zxid_after", m.ZxidAfter)
	return *m, nil
}

// walkRoot writes one subtree and returns its metadata.
func (t *treeWriter) walkRoot(ctx context.Context, enc *zktree.Encoder, root string) (zktree.RootMeta, error) {
	m := &t.meta
	rm := zktree.RootMeta{Path: root}
	h := sha256.New()
	emit := func(n *zktree.Node) error {
		replaced, err := t.s.checkACL(n)
		if err != nil {
			return err
		}
		if replaced {
			m.MaskedACLsReplaced++
		}
		r := zktree.Record{Path: n.Path, Data: n.Data, ACL: n.ACL, Stat: n.Stat, Seq: zktree.SeqOf(n.Stat)}
		r.Kind, r.TTL = t.s.kindOf(n.Path)
		switch r.Kind {
		case zktree.KindContainer:
			rm.Containers++
			t.declared[n.Path] = true
		case zktree.KindTTL:
			rm.TTL++
			t.declared[n.Path] = true
		}
		id, err := enc.Node(&r)
		if err != nil {
			return err
		}
		h.Write(id)
		rm.Nodes++
		if st := n.Stat; st.Czxid > m.ZxidBefore || st.Mzxid > m.ZxidBefore || st.Pzxid > m.ZxidBefore {
			m.ChangedDuringWalk++
		}
		if t.keys != nil && isKeyLeaf(n) {
			select {
			case t.keys <- keyNode{path: n.Path, data: n.Data}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	st, err := zktree.Walk(ctx, t.c, root, zktree.WalkOptions{Exclude: t.sel.Exclude, Concurrency: t.s.cfg.Concurrency}, emit)
	switch {
	case errors.Is(err, zktree.ErrNoRoot):
		rm.Missing = true
		if root == KeysRoot {
			m.Warnings = append(m.Warnings, "no "+KeysRoot+": this ZooKeeper holds no Zuul project keys")
		}
	case err != nil:
		return rm, err
	}
	rm.SHA256 = hex.EncodeToString(h.Sum(nil))
	m.Nodes += rm.Nodes
	m.DataBytes += st.DataBytes
	m.Containers += rm.Containers
	m.TTLNodes += rm.TTL
	m.EphemeralSkipped += st.Ephemeral
	m.VanishedDuringWalk += st.Vanished
	m.Reread += st.Reread
	return rm, nil
}

// warnings records declared kinds that matched nothing, then logs all.
func (t *treeWriter) warnings() {
	m := &t.meta
	for _, p := range t.s.cfg.Containers {
		if !t.declared[p] {
			m.Warnings = append(m.Warnings, "declared container "+p+" was not found in the backed-up subtrees")
		}
	}
	for p := range t.s.cfg.TTLs {
		if !t.declared[p] {
			m.Warnings = append(m.Warnings, "declared TTL node "+p+" was not found in the backed-up subtrees")
		}
	}
	if m.ChangedDuringWalk > 0 || m.VanishedDuringWalk > 0 {
		m.Warnings = append(m.Warnings, fmt.Sprintf("ZooKeeper changed during the walk: %d recorded nodes changed, %d vanished (zxid %#x to %#x)",
			m.ChangedDuringWalk, m.VanishedDuringWalk, m.ZxidBefore, m.ZxidAfter))
	}
	for _, w := range m.Warnings {
		t.s.log.Warn(w, "source", zktree.SourceName)
	}
}
