package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// scan is what reading the tree part once, before writing, found.
type scan struct {
	counts    map[string]int64          // restore root → nodes to restore
	ancestors map[string]*zktree.Record // recorded ancestors of restore roots
	ttl       int64
	total     int64
	// expected holds, per restore root, what the read-back must find, so
	// a restore that went right is verified without reading the part again.
	expected map[string]*expectation
}

// rootOf returns the restore root that holds p.
func (p *plan) rootOf(s string) string {
	for _, r := range p.sel.Roots {
		if zktree.Under(s, r) {
			return r
		}
	}
	return ""
}

// prescan reads the whole part and checks every node the restore would
// write, so a name the server refuses or a node too big for the target
// fails the restore before anything is written.
func (r *Restorer) prescan(ctx context.Context, part snapshot.Part, open restore.Opener, pl *plan, temp int) (*scan, error) {
	rd, finish, err := open(ctx, part)
	if err != nil {
		return nil, err
	}
	s := &scan{counts: map[string]int64{}, ancestors: map[string]*zktree.Record{}, expected: map[string]*expectation{}}
	for _, root := range pl.sel.Roots {
		s.expected[root] = newExpectation()
	}
	wanted := map[string]bool{}
	for _, root := range pl.sel.Roots {
		for a := zktree.Parent(root); a != "/"; a = zktree.Parent(a) {
			wanted[a] = true
		}
	}
	var problems []string
	report := func(f string, a ...any) {
		if len(problems) < 5 {
			problems = append(problems, fmt.Sprintf(f, a...))
		} else if len(problems) == 5 {
			problems = append(problems, "…")
		}
	}
	dec, err := zktree.NewDecoder(rd)
	for err == nil {
		var rec *zktree.Record
		if rec, err = dec.Next(); err != nil {
			break
		}
		if wanted[rec.Path] {
			s.ancestors[rec.Path] = rec
		}
		if !pl.sel.Covered(rec.Path) {
			continue
		}
		root := pl.rootOf(rec.Path)
		s.counts[root]++
		s.total++
		target := pl.mapPath(rec.Path)
		s.expected[root].add(rec, target, r.wantACL(rec))
		if cerr := zktree.CheckServerPath(target); cerr != nil {
			report("%v", cerr)
		}
		acl := r.wantACL(rec)
		size := multiOverhead + createOpSize(r.cfg.Conn.Chroot+target, rec.Data, acl) + max(0, temp-aclSize(acl))
		if rec.Kind != zktree.KindPersistent {
			size = singleCreateSize(r.cfg.Conn.Chroot+target, rec.Data, acl)
		}
		if size > r.cfg.MaxRequestBytes {
			report("node %s: creating it takes a %d-byte request (%d bytes of data), over the target's limit of %d (restore.zookeeper.max_request_bytes, the target's jute.maxbuffer)",
				target, size, len(rec.Data), r.cfg.MaxRequestBytes)
		}
		if rec.Kind == zktree.KindTTL {
			s.ttl++
		}
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	if ferr := finish(); err == nil {
		err = ferr
	}
	if err != nil {
		return nil, fmt.Errorf("read part %s/%s: %w", part.Source, part.Name, err)
	}
	if dec.Trailer.Nodes != pl.meta.Nodes {
		return nil, fmt.Errorf("part %s/%s holds %d nodes, its manifest says %d: %w", part.Source, part.Name, dec.Trailer.Nodes, pl.meta.Nodes, snapshot.ErrCorrupt)
	}
	for root, n := range pl.nodes {
		if s.counts[root] != n {
			return nil, fmt.Errorf("part %s/%s holds %d nodes under %s, its manifest says %d: %w", part.Source, part.Name, s.counts[root], root, n, snapshot.ErrCorrupt)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("the target would refuse these nodes: %s", strings.Join(problems, "; "))
	}
	return s, nil
}
