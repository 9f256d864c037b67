package zookeeper

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// rootCheck is the verification of one restored subtree.
type rootCheck struct {
	root, target                 string
	expected, found              int64
	missing, differ, extra, hide int64
	first                        string
	digest                       hash.Hash
	// masked counts digest ACL entries the server showed masked, so
	// compared by user and permissions only; firstMasked is the first
	// node with one.
	masked      int64
	firstMasked string
}

func (ch *rootCheck) problem(kind *int64, f string, a ...any) {
	*kind++
	if ch.first == "" {
		ch.first = fmt.Sprintf(f, a...)
	}
}

// verify reads every restored subtree back from the target (the same
// ordered walk the backup uses) next to the part, node by node: data, ACL
// and sequence counter must match, nothing may be missing, and nothing
// extra may be there unless merging. Each subtree's digest of path, data
// and ACL is compared with the manifest's. The summary goes to Out.
func (r *Restorer) verify(ctx context.Context, part snapshot.Part, open restore.Opener, pl *plan) error {
	_, aux, err := r.conns(ctx)
	if err != nil {
		return err
	}
	rd, finish, err := open(ctx, part)
	if err != nil {
		return err
	}
	dec, err := zktree.NewDecoder(rd)
	if err != nil {
		return errors.Join(err, finish())
	}
	var readErr error
	next := func() *zktree.Record {
		for readErr == nil {
			rec, err := dec.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					readErr = err
				}
				return nil
			}
			if pl.sel.Covered(rec.Path) {
				return rec
			}
		}
		return nil
	}
	rec := next()
	var checks []*rootCheck
	for _, root := range pl.sel.Roots {
		ch := &rootCheck{root: root, target: pl.mapPath(root), digest: sha256.New()}
		checks = append(checks, ch)
		inRoot := func() bool { return rec != nil && zktree.Under(rec.Path, root) }
		emit := func(n *zktree.Node) error {
			for ; inRoot() && zktree.DFSLess(pl.mapPath(rec.Path), n.Path); rec = next() {
				ch.expected++
				ch.problem(&ch.missing, "%s is missing", pl.mapPath(rec.Path))
			}
			switch {
			case inRoot() && pl.mapPath(rec.Path) == n.Path:
				ch.expected++
				r.compare(ch, rec, n)
				rec = next()
			case r.cfg.Force:
				ch.extra++
			default:
				ch.problem(&ch.extra, "%s is there but not in the snapshot", n.Path)
			}
			return readErr
		}
		_, werr := zktree.Walk(ctx, aux, ch.target, zktree.WalkOptions{Exclude: pl.targetExcludes(root), AllowNoAuth: true, Concurrency: r.cfg.Concurrency}, emit)
		if werr != nil && !errors.Is(werr, zktree.ErrNoRoot) {
			return errors.Join(fmt.Errorf("verify %s: %w", ch.target, werr), finish())
		}
		for ; inRoot(); rec = next() {
			ch.expected++
			ch.problem(&ch.missing, "%s is missing", pl.mapPath(rec.Path))
		}
	}
	for rec != nil {
		rec = next()
	}
	if ferr := finish(); readErr != nil || ferr != nil || dec.Trailer == nil {
		return fmt.Errorf("verify: read the part again: %w", errors.Join(readErr, ferr, errors.New("no trailer")))
	}
	return r.report(pl, checks)
}

// compare checks one restored node against its record.
func (r *Restorer) compare(ch *rootCheck, rec *zktree.Record, n *zktree.Node) {
	ch.found++
	want := rec.ACL
	if len(r.cfg.ReplaceACLs) > 0 {
		want = r.cfg.ReplaceACLs
	}
	switch seq := zktree.SeqOf(n.Stat); {
	case seq < rec.Seq, seq != rec.Seq && !r.cfg.Force:
		ch.problem(&ch.differ, "%s: sequence counter %d, want %d", n.Path, seq, rec.Seq)
	}
	aclOK, masked := aclMatch(n.ACL, want)
	if masked > 0 {
		ch.masked += int64(masked)
		if ch.firstMasked == "" {
			ch.firstMasked = n.Path
		}
	}
	if n.Unreadable {
		ch.hide++
		if int(n.Stat.DataLength) != len(rec.Data) || (n.ACL != nil && !aclOK) {
			ch.problem(&ch.differ, "%s: data length %d or ACL differs", n.Path, n.Stat.DataLength)
		}
		return
	}
	switch {
	case !bytes.Equal(n.Data, rec.Data) || (n.Data == nil) != (rec.Data == nil):
		ch.problem(&ch.differ, "%s: data differs (%d bytes, want %d)", n.Path, len(n.Data), len(rec.Data))
	case !aclOK:
		ch.problem(&ch.differ, "%s: ACL differs", n.Path)
	}
	acl := n.ACL
	if aclOK {
		acl = rec.ACL // as recorded, so a replaced or masked ACL still matches the manifest
	}
	ch.digest.Write(zktree.AppendIdentity(nil, rec.Path, n.Data, acl))
}

// report prints one line per subtree and fails on any problem.
func (r *Restorer) report(pl *plan, checks []*rootCheck) error {
	var bad []string
	for _, ch := range checks {
		where := ch.target
		if ch.target != ch.root {
			where = ch.root + " → " + ch.target
		}
		sum := hex.EncodeToString(ch.digest.Sum(nil))
		digest := "digest matches the snapshot"
		switch want := rootDigest(pl, ch.root); {
		case pl.partial[ch.root]:
			digest = "digest not compared (subtree restored in part)"
		case ch.hide > 0:
			digest = fmt.Sprintf("digest not compared: %d nodes are not readable by this session (their data length and ACL were checked)", ch.hide)
		case want != sum:
			ch.problem(&ch.differ, "%s: digest %s… differs from the snapshot's %s…", where, sum[:12], want[:min(12, len(want))])
			digest = "DIGEST DIFFERS"
		}
		line := fmt.Sprintf("zookeeper %s: %d of %d nodes found, %s", where, ch.found, ch.expected, digest)
		if ch.masked > 0 {
			line += fmt.Sprintf("; %d digest ACL %s not readable back (masked for this session, which lacks ADMIN there: "+
				"compared by user and permissions; first: %s)", ch.masked, plural(ch.masked, "entry", "entries"), ch.firstMasked)
		}
		if ch.extra > 0 {
			line += fmt.Sprintf("; %d other nodes in the target", ch.extra)
		}
		if ch.missing+ch.differ > 0 || (ch.extra > 0 && !r.cfg.Force) {
			line += fmt.Sprintf("; %d missing, %d different (first: %s)", ch.missing, ch.differ, ch.first)
			bad = append(bad, where)
		}
		fmt.Fprintln(r.cfg.Out, line)
		r.addResult(restore.Result{Source: SourceName, Part: zktree.TreePart, What: "znodes " + where, Expected: ch.expected, Found: ch.found})
	}
	if len(bad) > 0 {
		return fmt.Errorf("zookeeper restore verification failed for %v: the target does not match the snapshot (details above)", bad)
	}
	return nil
}

func rootDigest(pl *plan, root string) string {
	for _, rm := range pl.meta.Roots {
		if rm.Path == root {
			return rm.SHA256
		}
	}
	return ""
}

// aclMatch compares an ACL read back with the one written. The server
// shows a digest entry as digest:user:x to a session without ADMIN on the
// node, so its hash cannot be compared: it matches an entry of the same
// user with the same permissions and is counted in masked.
func aclMatch(got, want []zk.ACL) (ok bool, masked int) {
	if len(got) != len(want) {
		return false, 0
	}
	for i, g := range got {
		w := want[i]
		switch {
		case g == w:
		case zkconn.Masked(g) && w.Scheme == "digest" && g.Perms == w.Perms && digestUser(g.ID) == digestUser(w.ID):
			masked++
		default:
			return false, 0
		}
	}
	return true, masked
}

// digestUser is the user of a digest id (user:hash).
func digestUser(id string) string {
	user, _, _ := strings.Cut(id, ":")
	return user
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
