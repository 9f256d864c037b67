package zktest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// Open is the ACL most fixtures use.
var Open = zk.WorldACL(zk.PermAll)

// Spec is one node to create.
type Spec struct {
	Path  string
	Data  []byte
	ACL   []zk.ACL // nil: Open
	Flags int32    // zk.FlagEphemeral, zk.FlagSequence, zk.FlagContainer, zk.FlagTTL
	TTL   time.Duration
}

// Build creates specs in order: plain persistent nodes in multis of up to
// 500, the others one by one. Parents must come before children.
func Build(t testing.TB, c *zkconn.Client, specs []Spec) {
	t.Helper()
	if err := BuildContext(t.Context(), c, specs); err != nil {
		t.Fatalf("zktest: %v", err)
	}
}

// BuildContext is Build outside tests.
func BuildContext(ctx context.Context, c *zkconn.Client, specs []Spec) error {
	var ops []any
	size := 0
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		if res, err := c.Multi(ctx, -1, ops); err != nil {
			return fmt.Errorf("build: %w", zkconn.MultiError(ops, res, err))
		}
		ops, size = ops[:0], 0
		return nil
	}
	for _, s := range specs {
		acl := s.ACL
		if acl == nil {
			acl = Open
		}
		var err error
		switch {
		case s.Flags == 0 && len(s.Data) < 64<<10:
			ops = append(ops, &zk.CreateRequest{Path: s.Path, Data: s.Data, Acl: acl})
			if size += len(s.Data) + len(s.Path) + 64; len(ops) == 500 || size > 512<<10 {
				if err := flush(); err != nil {
					return err
				}
			}
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		switch s.Flags {
		case zk.FlagContainer:
			err = c.CreateContainer(ctx, s.Path, s.Data, acl)
		case zk.FlagTTL:
			err = c.CreateTTL(ctx, s.Path, s.Data, acl, s.TTL)
		default:
			_, err = c.Create(ctx, s.Path, s.Data, s.Flags, acl)
		}
		if err != nil {
			return fmt.Errorf("create %s: %w", s.Path, err)
		}
	}
	return flush()
}

// Dump reads the subtree at root (ephemeral nodes left out) with paths made
// relative to root.
func Dump(t testing.TB, c *zkconn.Client, root string) []*zktree.Node {
	t.Helper()
	var out []*zktree.Node
	_, err := zktree.Walk(t.Context(), c, root, zktree.WalkOptions{}, func(n *zktree.Node) error {
		n.Path = strings.TrimPrefix(n.Path, strings.TrimSuffix(root, "/"))
		if n.Path == "" {
			n.Path = "/"
		}
		out = append(out, n)
		return nil
	})
	if err != nil {
		t.Fatalf("zktest: dump %s: %v", root, err)
	}
	return out
}

// Relative strips root from the paths of nodes read from a tree part or a
// walk, as Dump does.
func Relative(nodes []*zktree.Node, root string) []*zktree.Node {
	for _, n := range nodes {
		n.Path = strings.TrimPrefix(n.Path, strings.TrimSuffix(root, "/"))
		if n.Path == "" {
			n.Path = "/"
		}
	}
	return nodes
}

// Diff compares two dumps node by node (path, data with null apart from
// empty, ACL, sequence counter) and returns the first differences.
func Diff(want, got []*zktree.Node) []string {
	var out []string
	add := func(f string, a ...any) {
		if len(out) < 10 {
			out = append(out, fmt.Sprintf(f, a...))
		}
	}
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || (i < len(want) && zktree.DFSLess(want[i].Path, got[j].Path)):
			add("missing %s", want[i].Path)
			i++
		case i == len(want) || zktree.DFSLess(got[j].Path, want[i].Path):
			add("extra %s", got[j].Path)
			j++
		default:
			w, g := want[i], got[j]
			if !bytes.Equal(w.Data, g.Data) || (w.Data == nil) != (g.Data == nil) {
				add("%s: data %s, want %s", w.Path, short(g.Data), short(w.Data))
			}
			if !slices.Equal(w.ACL, g.ACL) {
				add("%s: ACL %v, want %v", w.Path, g.ACL, w.ACL)
			}
			if ws, gs := zktree.SeqOf(w.Stat), zktree.SeqOf(g.Stat); ws != gs {
				add("%s: sequence counter %d, want %d", w.Path, gs, ws)
			}
			i++
			j++
		}
	}
	return out
}

func short(b []byte) string {
	if b == nil {
		return "null"
	}
	if len(b) > 40 {
		return fmt.Sprintf("%q… (%d bytes)", b[:40], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// Exists reports whether p exists.
func Exists(t testing.TB, c *zkconn.Client, p string) bool {
	t.Helper()
	ok, _, err := c.Exists(context.WithoutCancel(t.Context()), p)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}
