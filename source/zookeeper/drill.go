package zookeeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/config"
	restorezookeeper "github.com/zuulstate/zuulstate/restore/zookeeper"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// drillScratch restores the whole tree part, Zuul's runtime state
// included, below a chroot of the drill's own on the target's server:
// nothing watches it there, so no profile needs to leave anything out.
type drillScratch struct {
	r       source.DrillRequest
	conn    zkconn.Config // the target's, with its chroot (the base)
	target  config.ZooKeeperRestore
	replace []zk.ACL
	where   string
	built   *restorezookeeper.Restorer
}

func drill(r source.DrillRequest) (source.Scratch, error) {
	conn, target, ok := r.Config.ZooKeeperTarget()
	if !ok {
		return nil, fmt.Errorf("%w: this snapshot has zookeeper parts: configure the target's zookeeper (or %s) to say which server the drill uses", config.ErrInvalid, section)
	}
	client, err := clientConfig(conn)
	if err != nil {
		return nil, err
	}
	replace, err := config.ParseACLs(target.ReplaceACLs)
	if err != nil {
		return nil, fmt.Errorf("%w: zookeeper.replace_acls: %w", config.ErrInvalid, err)
	}
	client.Chroot = strings.TrimSuffix(client.Chroot, "/")
	return &drillScratch{r: r, conn: client, target: target, replace: replace, where: "zookeeper " + strings.Join(conn.Servers, ",")}, nil
}

// restorer returns a restorer rooted at chroot.
func (d *drillScratch) restorer(chroot string, include []string) *restorezookeeper.Restorer {
	conn := d.conn
	conn.Chroot = chroot
	t := d.target
	return restorezookeeper.New(restorezookeeper.Config{Conn: conn, Profile: restorezookeeper.ProfileDR, Include: include,
		ReplaceACLs: d.replace, MaxRequestBytes: int(t.MaxRequestBytes), BatchOps: t.BatchOps, BatchBytes: int(t.BatchBytes),
		InFlight: t.InFlight, Log: d.r.Log, Out: d.r.Out})
}

func (d *drillScratch) Plan(ctx context.Context, parts []snapshot.Part) (source.ScratchPlan, error) {
	var plan source.ScratchPlan
	for _, p := range parts {
		if p.Name != zktree.TreePart {
			plan.Unloaded = append(plan.Unloaded, p.Name)
			continue
		}
		var m zktree.TreeMeta
		if err := json.Unmarshal(p.Meta, &m); err != nil {
			return plan, fmt.Errorf("%w: part %s/%s: metadata: %w", snapshot.ErrCorrupt, p.Source, p.Name, err)
		}
		chroot := d.conn.Chroot + "/" + d.r.Prefix
		d.built = d.restorer(chroot, includeAll(m))
		plan.Restorer = d.built
		plan.Destination = fmt.Sprintf("%s, chroot %s, every subtree", d.where, chroot)
		plan.Names = []source.ScratchName{{Source: Source.Name, Kind: "znode", Name: chroot, Where: d.where}}
	}
	return plan, nil
}

// includeAll names every subtree of the snapshot, and Zuul's runtime
// state inside one, which the restore leaves out unless included.
func includeAll(m zktree.TreeMeta) []string {
	var out []string
	for _, root := range m.Roots {
		if root.Missing {
			continue
		}
		out = append(out, root.Path)
		if root.Path != restorezookeeper.RuntimeState && zktree.Under(restorezookeeper.RuntimeState, root.Path) &&
			!slices.Contains(m.Exclude, restorezookeeper.RuntimeState) {
			out = append(out, restorezookeeper.RuntimeState)
		}
	}
	return out
}

// Existing also fails when the target's own chroot is missing: the
// restore would create it, and the drill creates nothing but its node.
func (d *drillScratch) Existing(ctx context.Context, names []source.ScratchName) ([]source.ScratchName, error) {
	if d.conn.Chroot != "" {
		ok, err := d.exists(ctx, d.conn.Chroot)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: the target's zookeeper chroot %s does not exist on %s; the drill creates nothing but its own node below it: create it, or set the target's zookeeper.chroot",
				config.ErrInvalid, d.conn.Chroot, d.where)
		}
	}
	var found []string
	for _, n := range names {
		ok, err := d.exists(ctx, n.Name)
		if err != nil {
			return nil, err
		}
		if ok {
			found = append(found, n.Name)
		}
	}
	return source.Pick(names, found), nil
}

func (d *drillScratch) exists(ctx context.Context, chroot string) (bool, error) {
	r := d.restorer(chroot, nil)
	defer r.Close()
	return r.ChrootExists(ctx)
}

func (d *drillScratch) Remove(ctx context.Context, names []source.ScratchName) error {
	if err := source.RefuseForeign(names); err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		r := d.restorer(n.Name, nil)
		deleted, err := r.DeleteChroot(ctx)
		r.Close()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d.r.Log.Debug("drill scratch node deleted", "node", n.Name, "nodes", deleted)
	}
	return errors.Join(errs...)
}

func (d *drillScratch) Close() error {
	if d.built != nil {
		return d.built.Close()
	}
	return nil
}
