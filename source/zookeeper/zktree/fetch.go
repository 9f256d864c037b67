package zktree

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
)

// fetched is what reading one node gave.
type fetched struct {
	node      *Node
	names     []string
	ephemeral bool
	vanished  bool
	rereads   int
}

// fetch reads one node: data and stat, ACL, and children when it has any.
// The three replies each carry a stat. When data or ACL changed between
// the requests the node is read again, so they always belong together.
// New or deleted children alone do not count: a busy parent (a queue of
// requests) changes all the time; its children list and counter are taken
// together from the children reply.
func (w *walker) fetch(ctx context.Context, p string) (f fetched, err error) {
	for attempt := 0; ; attempt++ {
		data, st, err := w.c.Get(ctx, p)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			return fetched{vanished: true, rereads: attempt}, nil
		case errors.Is(err, zk.ErrNoAuth) && w.o.AllowNoAuth:
			return w.unreadable(ctx, p, attempt)
		case errors.Is(err, zk.ErrNoAuth):
			return f, w.noAuth(ctx, p)
		case err != nil:
			return f, fmt.Errorf("read %s: %w", p, err)
		}
		if st.EphemeralOwner != 0 && !w.o.KeepEphemeral {
			return fetched{ephemeral: true, rereads: attempt}, nil
		}
		acl, st2, err := w.c.GetACL(ctx, p)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			return fetched{vanished: true, rereads: attempt}, nil
		case err != nil:
			return f, fmt.Errorf("read the ACL of %s: %w", p, err)
		}
		var names []string
		st3 := st2
		if st.NumChildren > 0 || st2.NumChildren > 0 {
			names, st3, err = w.c.Children(ctx, p)
			switch {
			case errors.Is(err, zk.ErrNoNode):
				return fetched{vanished: true, rereads: attempt}, nil
			case err != nil:
				return f, fmt.Errorf("list the children of %s: %w", p, err)
			}
		}
		if sameContent(st, st2) && sameContent(st, st3) {
			s := *st
			s.Cversion, s.NumChildren, s.Pzxid = st3.Cversion, st3.NumChildren, st3.Pzxid
			n := &Node{Path: p, Data: data, ACL: acl, Stat: s, Children: len(names)}
			return fetched{node: n, names: names, rereads: attempt}, nil
		}
		if attempt >= w.o.MaxRereads {
			return f, fmt.Errorf("node %s changed on every one of %d reads; run the backup again when ZooKeeper is quieter", p, attempt+1)
		}
	}
}

// sameContent reports whether two stats of a node show the same data and
// ACL (and the same node: not deleted and created again).
func sameContent(a, b *zk.Stat) bool {
	return a.Czxid == b.Czxid && a.Mzxid == b.Mzxid && a.Version == b.Version && a.Aversion == b.Aversion
}

// unreadable records a node the session may not read: its stat (which
// needs no permission) and its ACL when ADMIN allows reading it.
func (w *walker) unreadable(ctx context.Context, p string, attempt int) (fetched, error) {
	ok, st, err := w.c.Exists(ctx, p)
	if err != nil {
		return fetched{}, fmt.Errorf("stat %s: %w", p, err)
	}
	if !ok {
		return fetched{vanished: true, rereads: attempt}, nil
	}
	acl, _, err := w.c.GetACL(ctx, p)
	if err != nil && !errors.Is(err, zk.ErrNoAuth) && !errors.Is(err, zk.ErrNoNode) {
		return fetched{}, fmt.Errorf("read the ACL of %s: %w", p, err)
	}
	n := &Node{Path: p, ACL: acl, Stat: *st, Children: int(st.NumChildren), Unreadable: true}
	return fetched{node: n, rereads: attempt}, nil
}

// noAuth explains a node the backup may not read, naming its ACL (and so
// the identity to configure) when the server shows it.
func (w *walker) noAuth(ctx context.Context, p string) error {
	var entries []string
	if acl, _, err := w.c.GetACL(ctx, p); err == nil {
		for _, a := range acl {
			entries = append(entries, zkconn.FormatACL(a))
		}
	}
	what := "its ACL is hidden too"
	if len(entries) > 0 {
		what = "its ACL: " + strings.Join(entries, ", ")
	}
	return fmt.Errorf("no permission to read %s (%s): %w; configure auth (a digest user the ACL grants read) or exclude the path",
		p, what, zk.ErrNoAuth)
}
