package zookeeper

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// inspection is what Inspect learnt from the tree part, for Restore.
type inspection struct {
	part snapshot.Part
	pl   *plan
	scan *scan
	// temp is the ACL nodes are created with while their children are
	// added, when their own ACL would lock this session out.
	temp []zk.ACL
}

// treePart returns the tree part among parts, or nil.
func treePart(parts []snapshot.Part) *snapshot.Part {
	for i, p := range parts {
		if p.Name == zktree.TreePart {
			return &parts[i]
		}
	}
	return nil
}

// Inspect reads the tree part once, before anything is written, and checks
// every node the restore would write (see prescan); Restore writes from
// what it found. The keys part is not read: it is left to zuul-admin
// import-keys.
func (r *Restorer) Inspect(ctx context.Context, parts []snapshot.Part, open restore.Opener) error {
	tree := treePart(parts)
	if tree == nil {
		return fmt.Errorf("part zookeeper/%s is for zuul-admin import-keys: restore zookeeper/%s with zuulstate, or run import-keys on the keys part", zktree.KeysPart, zktree.TreePart)
	}
	m, err := treeMeta(*tree)
	if err != nil {
		return err
	}
	pl, err := r.plan(m)
	if err != nil {
		return err
	}
	c, _, err := r.conns(ctx)
	if err != nil {
		return err
	}
	temp := zk.WorldACL(zk.PermAll)
	if id := c.DigestIDOf(); id != "" {
		temp = []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: id}}
	}
	sc, err := r.prescan(ctx, *tree, open, pl, aclSize(temp))
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.inspected = &inspection{part: *tree, pl: pl, scan: sc, temp: temp}
	r.mu.Unlock()
	return nil
}

// Restore restores the tree part among parts from what Inspect found (it
// inspects first if that has not happened): it wipes the target subtrees
// (Wipe) or checks they are still absent (unless Force), writes, then
// reads the target back to verify. The keys part is left to zuul-admin
// import-keys.
func (r *Restorer) Restore(ctx context.Context, parts []snapshot.Part, open restore.Opener) error {
	for _, p := range parts {
		if p.Name != zktree.TreePart {
			r.cfg.Log.Info("not loading the zuul-admin export-keys part; the tree part holds the same keys", "part", p.Name)
		}
	}
	in := r.takeInspection(parts)
	if in == nil {
		if err := r.Inspect(ctx, parts, open); err != nil {
			return fmt.Errorf("nothing was restored: %w", err)
		}
		in = r.takeInspection(parts)
	}
	pl, sc := in.pl, in.scan
	r.warnDev(pl)
	c, aux, err := r.conns(ctx)
	if err != nil {
		return err
	}
	if r.cfg.Wipe {
		n, err := r.wipe(ctx, c, aux, pl)
		if err != nil {
			return err
		}
		r.cfg.Log.Warn(fmt.Sprintf("deleted %d nodes of the target subtrees before restoring (--wipe)", n), "server", c.String())
	} else if err := r.checkEmpty(ctx, aux, pl); err != nil {
		return err
	}
	if sc.ttl > 0 {
		if err := probeTTL(ctx, c, "/", sc.ttl); err != nil {
			return err
		}
	}
	if err := r.ancestors(ctx, aux, pl, sc); err != nil {
		return err
	}
	start := time.Now()
	w, err := r.write(ctx, in.part, open, pl, c, aux, in.temp)
	if err != nil {
		return err
	}
	r.cfg.Log.Info("zookeeper nodes written", "created", w.created, "updated", w.updated, "counters_advanced", w.fix.bumped.Load(),
		"acls_set_after_children", w.fix.acls.Load(), "batches_settled_after_lost_connections", w.d.settled,
		"duration", time.Since(start).Round(time.Millisecond))
	checks, err := r.readBack(ctx, pl, sc)
	if err != nil {
		return err
	}
	if checks != nil {
		return r.report(pl, checks)
	}
	return r.verify(ctx, in.part, open, pl)
}

// takeInspection returns, once, what Inspect found about the tree part
// among parts; nil when it has not inspected that part.
func (r *Restorer) takeInspection(parts []snapshot.Part) *inspection {
	r.mu.Lock()
	defer r.mu.Unlock()
	in := r.inspected
	r.inspected = nil
	tree := treePart(parts)
	if in == nil || tree == nil || in.part.Name != tree.Name || in.part.RawSHA256 != tree.RawSHA256 {
		return nil
	}
	return in
}

// write streams the selected records into the target.
func (r *Restorer) write(ctx context.Context, part snapshot.Part, open restore.Opener, pl *plan, c, aux *zkconn.Client, temp []zk.ACL) (*writer, error) {
	rd, finish, err := open(ctx, part)
	if err != nil {
		return nil, err
	}
	d := newDispatcher(ctx, c, r.cfg.InFlight)
	w := &writer{r: r, pl: pl, d: d, aux: aux, merge: r.cfg.Force, limit: r.cfg.BatchBytes, temp: temp,
		digest: c.DigestIDOf(), fix: newFixer(ctx, aux, d, r.cfg.BatchBytes, 4), lastLog: time.Now()}
	dec, err := zktree.NewDecoder(rd)
	for err == nil {
		var rec *zktree.Record
		if rec, err = dec.Next(); err == nil && pl.sel.Covered(rec.Path) {
			err = w.add(ctx, rec)
		}
	}
	if errors.Is(err, io.EOF) {
		err = w.finish(ctx)
	} else {
		_ = w.fix.close()
		_ = d.wait(ctx)
	}
	if ferr := finish(); err == nil {
		err = ferr
	}
	if err != nil {
		return nil, fmt.Errorf("restore into %s: %w", c, err)
	}
	return w, nil
}

// ancestors creates the chroot when the target has none yet (a new
// server) and the missing parents of the restore roots, from their records
// when the snapshot has them (and the path is not remapped).
func (r *Restorer) ancestors(ctx context.Context, c *zkconn.Client, pl *plan, sc *scan) error {
	if chroot := c.Abs("/"); chroot != "/" {
		ok, _, err := c.Exists(ctx, "/")
		if err != nil {
			return err
		}
		for p := ""; !ok && p != chroot; {
			next, _, _ := strings.Cut(chroot[len(p)+1:], "/")
			p += "/" + next
			err := c.Do(ctx, func(z *zk.Conn) error { _, err := z.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); return err })
			if err != nil && !errors.Is(err, zk.ErrNodeExists) {
				return fmt.Errorf("create the chroot %s on %s: %w", p, c, err)
			}
		}
	}
	for _, root := range pl.sel.Roots {
		var chain []string
		for a := zktree.Parent(pl.mapPath(root)); a != "/"; a = zktree.Parent(a) {
			chain = append([]string{a}, chain...)
		}
		for _, a := range chain {
			data, acl := []byte(nil), zk.WorldACL(zk.PermAll)
			if rec := sc.ancestors[a]; rec != nil && pl.mapPath(a) == a {
				data, acl = rec.Data, rec.ACL
			}
			if _, err := c.Create(ctx, a, data, 0, acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
				return fmt.Errorf("create %s, above %s: %w", a, pl.mapPath(root), err)
			}
		}
	}
	return nil
}

// probeTTL creates and deletes a TTL node under parent, so a target
// without extended types fails before anything is restored.
func probeTTL(ctx context.Context, c *zkconn.Client, parent string, n int64) error {
	var b [6]byte
	_, _ = rand.Read(b[:])
	p := zktree.Join(parent, "zuulstate-ttl-probe-"+hex.EncodeToString(b[:]))
	err := c.CreateTTL(ctx, p, nil, zk.WorldACL(zk.PermAll), time.Minute)
	if errors.Is(err, zkconn.ErrUnimplemented) {
		return fmt.Errorf("the snapshot has %d TTL nodes, but %s does not create TTL nodes: start it with -Dzookeeper.extendedTypesEnabled=true, "+
			"or leave those paths out (restore.zookeeper.exclude)", n, c)
	}
	if err != nil {
		return fmt.Errorf("probe for TTL nodes under %s: %w", parent, err)
	}
	return c.Delete(ctx, p)
}

// warnDev explains why the dev profile left the snapshot's other subtrees
// out, when it has any.
func (r *Restorer) warnDev(pl *plan) {
	var skipped []string
	for root, why := range pl.skipped {
		if why == "profile dev" {
			skipped = append(skipped, root)
		}
	}
	if len(skipped) == 0 {
		return
	}
	slices.Sort(skipped)
	r.warnOnce.Do(func() {
		r.cfg.Log.Warn("profile dev restores only "+strings.Join(DevAllowed, " and ")+" (and what restore.zookeeper.include names); "+
			"not restored: "+strings.Join(skipped, ", ")+". With prod's Nodepool node and image records a dev Nodepool would manage, "+
			"and delete, prod's cloud servers and images; with prod's system id (/zuul-system) its leak cleanup would take prod's "+
			"resources, tagged with that id, for its own; with prod's runtime state (/zuul: event queues, build and merge requests) "+
			"a dev scheduler and executors would act on prod's events and requests. The dev instance creates its own system id "+
			"and runtime state; project keys are restored.", "skipped", strings.Join(skipped, ","))
	})
}
