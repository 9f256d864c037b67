package zookeeper

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// plan is what a restore covers, worked out from the manifest alone.
type plan struct {
	meta    zktree.TreeMeta
	sel     zktree.Selection  // snapshot paths to restore
	skipped map[string]string // snapshot root → why it is left out
	// partial roots are restored in part, so their digest in the
	// manifest cannot be compared.
	partial map[string]bool
	pathMap map[string]string
	nodes   map[string]int64 // restore root → nodes (from the manifest when whole)
}

func (r *Restorer) plan(m zktree.TreeMeta) (*plan, error) {
	p := &plan{meta: m, skipped: map[string]string{}, partial: map[string]bool{}, pathMap: r.cfg.PathMap, nodes: map[string]int64{}}
	if r.cfg.Profile != ProfileDR && r.cfg.Profile != ProfileDev {
		return nil, fmt.Errorf("unknown restore profile %q (use dr or dev)", r.cfg.Profile)
	}
	var snapRoots, roots []string
	for _, rm := range m.Roots {
		if rm.Missing {
			p.skipped[rm.Path] = "not in the snapshot (it did not exist at backup time)"
			continue
		}
		snapRoots = append(snapRoots, rm.Path)
	}
	// pick selects path, or the snapshot subtrees inside it.
	pick := func(path string) bool {
		found := false
		for _, sr := range snapRoots {
			switch {
			case zktree.Under(path, sr):
				roots, found = append(roots, path), true
			case zktree.Under(sr, path):
				roots, found = append(roots, sr), true
			}
		}
		return found
	}
	for _, inc := range r.cfg.Include {
		if !pick(inc) {
			return nil, fmt.Errorf("restore include %s is not in the snapshot (its subtrees: %s)", inc, strings.Join(snapRoots, ", "))
		}
	}
	switch {
	case r.cfg.Profile == ProfileDev:
		for _, a := range DevAllowed {
			pick(a)
		}
	case len(r.cfg.Include) == 0:
		roots = snapRoots
	}
	exclude := slices.Clone(r.cfg.Exclude)
	runtime := !slices.ContainsFunc(r.cfg.Include, func(inc string) bool { return zktree.Under(inc, RuntimeState) })
	if runtime {
		exclude = append(exclude, RuntimeState)
	}
	p.sel = zktree.Normalize(roots, exclude)
	for _, sr := range snapRoots {
		if slices.ContainsFunc(p.sel.Roots, func(x string) bool { return zktree.Under(x, sr) }) {
			continue
		}
		switch {
		case slices.ContainsFunc(r.cfg.Exclude, func(e string) bool { return zktree.Under(sr, e) }):
			p.skipped[sr] = "excluded"
		case r.cfg.Profile == ProfileDev:
			p.skipped[sr] = "profile dev"
		case runtime && zktree.Under(sr, RuntimeState):
			p.skipped[sr] = "Zuul's runtime state, which Zuul rebuilds; include " + RuntimeState + " to restore it"
		default:
			p.skipped[sr] = "not included"
		}
	}
	for _, root := range p.sel.Roots {
		whole := slices.Contains(snapRoots, root) && !slices.ContainsFunc(p.sel.Exclude, func(e string) bool { return zktree.Under(e, root) })
		if !whole {
			p.partial[root] = true
			continue
		}
		for _, rm := range m.Roots {
			if rm.Path == root {
				p.nodes[root] = rm.Nodes
			}
		}
	}
	return p, p.checkMap()
}

// checkMap refuses mappings that would split a restored subtree: a source
// must be a restored root or above one, and targets must be valid paths
// outside ZooKeeper's own subtree.
func (p *plan) checkMap() error {
	for from, to := range p.pathMap {
		if err := zktree.CheckPath(from); err != nil {
			return fmt.Errorf("path_map: %w", err)
		}
		if err := zktree.CheckServerPath(to); err != nil || zktree.Under(to, zktree.Internal) || to == "/" {
			return fmt.Errorf("path_map %s: target %q is not a path to restore to", from, to)
		}
		for _, root := range p.sel.Roots {
			if from != root && zktree.Under(from, root) {
				return fmt.Errorf("path_map source %s is inside restored subtree %s: map %s instead", from, root, root)
			}
		}
	}
	return nil
}

// mapPath moves a snapshot path to its target path (longest mapped prefix).
func (p *plan) mapPath(s string) string {
	best := ""
	for from := range p.pathMap {
		if zktree.Under(s, from) && len(from) > len(best) {
			best = from
		}
	}
	if best == "" {
		return s
	}
	to := p.pathMap[best]
	if best == "/" {
		return strings.TrimSuffix(to, "/") + s
	}
	return to + s[len(best):]
}

// Plan describes in human lines what RestoreSet would do with parts, for
// --dry-run. It reads only the manifest.
func (r *Restorer) Plan(parts []snapshot.Part) []string {
	var out []string
	for _, part := range parts {
		if part.Name != zktree.TreePart {
			out = append(out, fmt.Sprintf("skip zookeeper/%s: it is the zuul-admin export-keys file of the same keys (zuul-admin import-keys reads it)", part.Name))
			continue
		}
		m, err := treeMeta(part)
		if err != nil {
			return append(out, err.Error())
		}
		p, err := r.plan(m)
		if err != nil {
			return append(out, err.Error())
		}
		verb := "create"
		switch {
		case r.cfg.Wipe:
			verb = "delete and recreate"
		case r.cfg.Force:
			verb = "merge into (overwriting data and ACLs of existing nodes)"
		}
		servers := strings.Join(r.cfg.Conn.Servers, ",") + r.cfg.Conn.Chroot
		for _, root := range p.sel.Roots {
			line := fmt.Sprintf("%s %s on zookeeper %s", verb, p.mapPath(root), servers)
			if n, ok := p.nodes[root]; ok {
				line += fmt.Sprintf(" (%d nodes)", n)
			}
			if t := p.mapPath(root); t != root {
				line += " from " + root
			}
			out = append(out, line)
		}
		for _, e := range p.sel.Exclude {
			out = append(out, "leave out "+e)
		}
		for _, root := range slices.Sorted(maps.Keys(p.skipped)) {
			out = append(out, fmt.Sprintf("skip %s (%s)", root, p.skipped[root]))
		}
		if r.cfg.Profile == ProfileDev {
			out = append(out, "profile dev restores only "+strings.Join(DevAllowed, " and ")+" and what restore.zookeeper.include names")
		}
		if len(r.cfg.ReplaceACLs) > 0 {
			out = append(out, "give every restored node the configured ACL instead of its recorded one")
		}
	}
	return out
}
