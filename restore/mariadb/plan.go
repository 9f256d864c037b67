package mariadb

import (
	"fmt"
	"strings"

	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
)

// Plan describes in human lines what Restore would do with parts, for
// --dry-run. It reads only the manifest metadata.
func (r *Restorer) Plan(parts []snapshot.Part) []string {
	sets, grants, err := group(parts)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, s := range sets {
		target := r.target(s.name)
		if s.schema != nil {
			verb := "create"
			if r.cfg.Force {
				verb = "drop (if it exists) and create"
			}
			line := fmt.Sprintf("%s database %s on %s", verb, target, r.addr())
			if target != s.name {
				line += fmt.Sprintf(" (from %s)", s.name)
			}
			out = append(out, line)
		}
		out = append(out, dataLines(s)...)
		if s.post != nil {
			out = append(out, postLine(target, s.post.post))
		}
	}
	if grants != nil {
		if r.cfg.WithGrants {
			out = append(out, grantsLine(grants))
		} else {
			out = append(out, "skip users and grants (part grants selected, with_grants is off)")
		}
	}
	return out
}

// dataLines says per table how many rows and parts are loaded.
func dataLines(s *dbSet) []string {
	type table struct {
		rows  int64
		parts int
		known bool
	}
	var (
		order  []string
		tables = map[string]*table{}
	)
	for _, d := range s.data {
		t := tables[d.table]
		if t == nil {
			t = &table{known: true}
			tables[d.table] = t
			order = append(order, d.table)
		}
		t.parts++
		if d.data == nil {
			t.known = false
		} else {
			t.rows += d.data.Rows
		}
	}
	var out []string
	for _, name := range order {
		t := tables[name]
		rows := "rows unknown"
		if t.known {
			rows = fmt.Sprintf("%d rows", t.rows)
		}
		unit := "parts"
		if t.parts == 1 {
			unit = "part"
		}
		out = append(out, fmt.Sprintf("load table %s.%s (%s, %d %s)", s.name, name, rows, t.parts, unit))
	}
	return out
}

// postLine summarises the post part from its metadata when it counts its
// objects.
func postLine(target string, m *mariadbpart.PostMeta) string {
	if m == nil {
		m = &mariadbpart.PostMeta{}
	}
	var what []string
	for _, k := range []struct {
		name string
		n    int
	}{
		{"views", len(m.Views)}, {"triggers", len(m.Triggers)}, {"procedures", len(m.Procedures)},
		{"functions", len(m.Functions)}, {"packages", len(m.Packages)}, {"package bodies", len(m.PackageBodies)},
		{"events", len(m.Events)},
	} {
		if k.n > 0 {
			what = append(what, fmt.Sprintf("%d %s", k.n, k.name))
		}
	}
	if len(what) == 0 {
		return fmt.Sprintf("create the views, triggers, routines and events of %s", target)
	}
	return fmt.Sprintf("create %s in %s", strings.Join(what, ", "), target)
}
