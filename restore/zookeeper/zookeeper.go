// Package zookeeper restores the tree part of the zookeeper source (see
// docs/ZOOKEEPER.md) into a ZooKeeper ensemble: by default only into
// subtrees that do not exist yet, or merging (Force) or after deleting them
// (Wipe). Nodes are created parents first in multi transactions within the
// server's request limit, several in flight on one session in order; ACLs
// are restored or replaced, declared container and TTL nodes get their
// kind, and every parent's sequence counter is advanced to its recorded
// value. Every node is then read back and compared with the snapshot.
package zookeeper

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// SourceName is the source whose parts this package restores.
const SourceName = zktree.SourceName

// Restore profiles.
const (
	ProfileDR  = "dr"  // everything in the snapshot but Zuul's runtime state (same instance)
	ProfileDev = "dev" // only the keys (a dev instance)
)

// DevAllowed are the subtrees the dev profile restores, besides those the
// configuration includes: the project keys, which cannot be recreated.
// Anything else of prod's (its system id, Nodepool's records, Zuul's
// runtime state) would make a dev instance act on prod's resources.
var DevAllowed = []string{"/keystorage", "/keystorage-oidc"}

// RuntimeState is Zuul's runtime state: pipelines, event queues, build and
// merge requests, locks, the component registry and caches. Neither
// profile restores it unless an include names it or a path below it. A
// snapshot's copy is hours old: its queued events and requests were
// handled or lost since, and its builds ran on executors and nodes of the
// past. Zuul documents it as removable to reset and rebuilds it on start
// from its configuration and the database.
const RuntimeState = "/zuul"

// Config says where and how to restore.
type Config struct {
	Conn    zkconn.Config
	Profile string // dr (default) or dev
	// Include restores only these subtrees (snapshot paths); with profile
	// dev, these besides DevAllowed.
	Include []string
	Exclude []string // leave these subtrees out
	// PathMap moves subtrees: snapshot path prefix → target prefix.
	PathMap map[string]string
	// Force merges into existing subtrees (overwriting data and ACLs of
	// existing nodes); Wipe deletes the selected subtrees first.
	Force, Wipe bool
	// ReplaceACLs, when set, is given to every restored node instead of
	// its recorded ACL (a dev target whose auth differs).
	ReplaceACLs []zk.ACL
	// MaxRequestBytes is the target's jute.maxbuffer; default 1048575.
	MaxRequestBytes int
	BatchOps        int // operations per multi; default 1000
	// BatchBytes caps a multi's size (a larger node still goes alone, up
	// to MaxRequestBytes); default 128 KiB. The server keeps its last 500
	// transactions in memory, so huge multis cost it heap.
	BatchBytes  int
	InFlight    int // multis in flight; default 8
	Concurrency int // reads in flight when verifying; default 256
	Log         *slog.Logger
	Out         io.Writer // the verification summary
}

// Restorer restores zookeeper parts. It keeps its sessions open between
// Check, Inspect and Restore; call Close when done.
type Restorer struct {
	cfg Config

	mu       sync.Mutex
	c, aux   *zkconn.Client
	warnOnce sync.Once
	results  []restore.Result
	// inspected is what Inspect found, until Restore takes it.
	inspected *inspection
	// onConnect is a test hook that gets both clients.
	onConnect func(c, aux *zkconn.Client)
}

var (
	_ restore.Restorer  = (*Restorer)(nil)
	_ restore.Inspector = (*Restorer)(nil)
	_ restore.Reporter  = (*Restorer)(nil)
	_ restore.Planner   = (*Restorer)(nil)
)

func (r *Restorer) addResult(res restore.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results = append(r.results, res)
}

// Results returns the node counts of every subtree verified so far.
func (r *Restorer) Results() []restore.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]restore.Result(nil), r.results...)
}

// New returns a Restorer for cfg.
func New(cfg Config) *Restorer {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Profile == "" {
		cfg.Profile = ProfileDR
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 1048575
	}
	if cfg.BatchOps <= 0 {
		cfg.BatchOps = 1000
	}
	if cfg.BatchBytes <= 0 {
		cfg.BatchBytes = 128 << 10
	}
	cfg.BatchBytes = min(cfg.BatchBytes, cfg.MaxRequestBytes)
	if cfg.InFlight <= 0 {
		cfg.InFlight = 8
	}
	cfg.Conn.Log = cfg.Log
	return &Restorer{cfg: cfg}
}

// Source returns "zookeeper".
func (r *Restorer) Source() string { return SourceName }

// Close ends the sessions.
func (r *Restorer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range []*zkconn.Client{r.c, r.aux} {
		if c != nil {
			c.Close()
		}
	}
	r.c, r.aux = nil, nil
	return nil
}

// conns opens, on first use, the session that writes (one, so its
// transactions stay in order) and the one that reads and fixes up.
func (r *Restorer) conns(ctx context.Context) (c, aux *zkconn.Client, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c == nil {
		w := r.cfg.Conn
		w.Sessions = 1
		if r.c, err = zkconn.Connect(ctx, w); err != nil {
			return nil, nil, err
		}
	}
	if r.aux == nil {
		if r.aux, err = zkconn.Connect(ctx, r.cfg.Conn); err != nil {
			return nil, nil, err
		}
		if r.onConnect != nil {
			r.onConnect(r.c, r.aux)
		}
	}
	return r.c, r.aux, nil
}

// treeMeta decodes the manifest metadata of a tree part.
func treeMeta(p snapshot.Part) (zktree.TreeMeta, error) {
	var m zktree.TreeMeta
	if len(p.Meta) == 0 {
		return m, fmt.Errorf("part %s/%s has no metadata", p.Source, p.Name)
	}
	if err := json.Unmarshal(p.Meta, &m); err != nil {
		return m, fmt.Errorf("part %s/%s: metadata: %w", p.Source, p.Name, err)
	}
	if m.Format != 1 {
		return m, fmt.Errorf("part %s/%s has format %d; this zuulstate reads format 1: upgrade zuulstate", p.Source, p.Name, m.Format)
	}
	return m, nil
}

// Check refuses a tree part whose target subtrees exist, unless Force or
// Wipe. The keys part always passes: Restore leaves it to zuul-admin.
func (r *Restorer) Check(ctx context.Context, p snapshot.Part) error {
	if p.Name != zktree.TreePart {
		return nil
	}
	m, err := treeMeta(p)
	if err != nil {
		return err
	}
	pl, err := r.plan(m)
	if err != nil {
		return err
	}
	_, aux, err := r.conns(ctx)
	if err != nil {
		return err
	}
	return r.checkEmpty(ctx, aux, pl)
}

// checkEmpty fails with restore.ErrTargetNotEmpty when a target subtree
// exists (with Force or Wipe it only reports).
func (r *Restorer) checkEmpty(ctx context.Context, c *zkconn.Client, pl *plan) error {
	for _, root := range pl.sel.Roots {
		target := pl.mapPath(root)
		ok, st, err := c.Exists(ctx, target)
		if err != nil {
			return fmt.Errorf("check %s on %s: %w", target, c, err)
		}
		if !ok || r.cfg.Force || r.cfg.Wipe {
			continue
		}
		return fmt.Errorf("%w: %s already has %s (%d children): use --wipe to delete it first, --force to merge into it, or restore.zookeeper.path_map to restore elsewhere",
			restore.ErrTargetNotEmpty, c, target, st.NumChildren)
	}
	return nil
}
