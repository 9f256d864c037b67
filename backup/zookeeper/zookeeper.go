// Package zookeeper is the backup source for Zuul's ZooKeeper tree: a
// pipelined, ordered walk of the selected subtrees (profiles zuul and all,
// include and exclude paths) over go-zookeeper/zk, written as a stream of
// node records (data with null kept apart from empty, ACLs, stat, each
// parent's sequence counter) in the tree part, plus a keys part that
// zuul-admin import-keys reads. The format and what comes back on restore
// are in docs/ZOOKEEPER.md; the walk and the record codec are zktree's,
// which restore/zookeeper imports too.
package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/go-zookeeper/zk"
	"golang.org/x/sync/errgroup"

	"github.com/zuulstate/zuulstate/backup"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// Config says which ensemble to back up and what to take.
type Config struct {
	Conn    zkconn.Config
	Profile string   // zuul (default) or all
	Include []string // more subtrees
	Exclude []string // subtrees left out
	// Containers and TTLs declare nodes of those kinds (the server does
	// not tell); they are recorded so the restore recreates their kind.
	Containers []string
	TTLs       map[string]time.Duration
	// Concurrency is the number of requests in flight; default 256.
	Concurrency int
	// ReplaceMaskedACLs, when set, replaces masked digest ACL entries
	// (digest:user:x) instead of failing the backup.
	ReplaceMaskedACLs []zk.ACL
	Log               *slog.Logger
}

// Snapshotter backs up one ZooKeeper ensemble.
type Snapshotter struct {
	cfg Config
	log *slog.Logger
	// Test hooks: afterFence runs once the first fence is read;
	// onConnect gets the client.
	afterFence func()
	onConnect  func(*zkconn.Client)
}

var _ backup.Snapshotter = (*Snapshotter)(nil)

// New returns a Snapshotter for cfg.
func New(cfg Config) *Snapshotter {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Conn.Log = log
	return &Snapshotter{cfg: cfg, log: log}
}

// Source returns "zookeeper".
func (s *Snapshotter) Source() string { return zktree.SourceName }

// Snapshot writes the tree part and, when /keystorage is selected, the keys
// part; both come from one walk.
func (s *Snapshotter) Snapshot(ctx context.Context, sink backup.PartSink) error {
	c, err := zkconn.Connect(ctx, s.cfg.Conn)
	if err != nil {
		return err
	}
	defer c.Close()
	if s.onConnect != nil {
		s.onConnect(c)
	}
	sel, err := resolve(ctx, c, s.cfg.Profile, s.cfg.Include, s.cfg.Exclude)
	if err != nil {
		return err
	}
	if len(sel.Roots) == 0 {
		return fmt.Errorf("%w: every selected path is excluded", backup.ErrEmptySource)
	}
	t := s.newTreeWriter(c, sel)
	t.meta.ServerVersion = c.ServerVersion(ctx)
	if t.meta.ZxidBefore, err = c.Fence(ctx); err != nil {
		return err
	}
	if s.afterFence != nil {
		s.afterFence()
	}
	withKeys := sel.Covered("/keystorage")
	g, gctx := errgroup.WithContext(ctx)
	if withKeys {
		t.keys = make(chan keyNode, 64)
		g.Go(func() error {
			return sink.WritePart(gctx, zktree.KeysPart, func(ctx context.Context, out io.Writer) (any, error) {
				return writeKeys(ctx, out, t.keys, s.log)
			})
		})
	}
	g.Go(func() error {
		err := sink.WritePart(gctx, zktree.TreePart, func(ctx context.Context, out io.Writer) (any, error) {
			return t.write(ctx, out)
		})
		if t.keys != nil && !t.keysClosed {
			close(t.keys) // without the final marker: the keys part fails too
		}
		return err
	})
	if err := g.Wait(); err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	return nil
}

// kindOf returns the declared kind of p.
func (s *Snapshotter) kindOf(p string) (zktree.Kind, time.Duration) {
	if ttl, ok := s.cfg.TTLs[p]; ok {
		return zktree.KindTTL, ttl
	}
	if slices.Contains(s.cfg.Containers, p) {
		return zktree.KindContainer, 0
	}
	return zktree.KindPersistent, 0
}

// ErrMaskedACL is returned for a node whose ACL the server masked.
var ErrMaskedACL = errors.New("digest ACL is masked")

// checkACL fails on masked digest entries, or replaces them when
// ReplaceMaskedACLs is set. Storing them would make the restored node
// unusable: "x" is not a hash.
func (s *Snapshotter) checkACL(n *zktree.Node) (replaced bool, err error) {
	masked := slices.ContainsFunc(n.ACL, zkconn.Masked)
	if !masked {
		return false, nil
	}
	if len(s.cfg.ReplaceMaskedACLs) == 0 {
		var user string
		for _, a := range n.ACL {
			if zkconn.Masked(a) {
				user = a.ID[:len(a.ID)-2]
				break
			}
		}
		return false, fmt.Errorf("%w on %s (the server shows digest:%s:x to a session without ADMIN permission there): "+
			"configure auth as digest user %q (or a super user) so the real hash is stored, or set replace_masked_acls",
			ErrMaskedACL, n.Path, user, user)
	}
	acl := slices.DeleteFunc(slices.Clone(n.ACL), zkconn.Masked)
	for _, r := range s.cfg.ReplaceMaskedACLs {
		if !slices.Contains(acl, r) {
			acl = append(acl, r)
		}
	}
	n.ACL = acl
	return true, nil
}
