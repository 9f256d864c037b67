package snapdiff

import (
	"encoding/json"

	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
)

// schemaMeta is the part of a mariadb schema part's metadata that holds
// row counts; Tables is a pointer so data and post parts (no "tables")
// are told apart.
type schemaMeta struct {
	Database       string                   `json:"database"`
	AlembicVersion string                   `json:"alembic_version"`
	Tables         *[]mariadbpart.TableMeta `json:"tables"`
}

func schemas(m *snapshot.Manifest) (map[string]schemaMeta, []string) {
	out := map[string]schemaMeta{}
	var order []string
	for _, p := range m.Parts {
		if p.Source != "mariadb" || len(p.Meta) == 0 {
			continue
		}
		var s schemaMeta
		if json.Unmarshal(p.Meta, &s) != nil || s.Tables == nil || s.Database == "" {
			continue
		}
		out[s.Database] = s
		order = append(order, s.Database)
	}
	return out, order
}

// tableDeltas lists every table of every database in a or b with its row
// counts, from the manifests alone; it records alembic version changes.
func tableDeltas(a, b *snapshot.Manifest, alembic map[string]string) []TableDelta {
	sa, order := schemas(a)
	sb, orderB := schemas(b)
	for _, db := range orderB {
		if _, ok := sa[db]; !ok {
			order = append(order, db)
		}
	}
	var out []TableDelta
	for _, db := range order {
		ma, mb := sa[db], sb[db]
		if ma.AlembicVersion != mb.AlembicVersion && ma.Tables != nil && mb.Tables != nil {
			alembic[db] = ma.AlembicVersion + " → " + mb.AlembicVersion
		}
		idx := map[string]int{}
		if ma.Tables != nil {
			for _, t := range *ma.Tables {
				idx[t.Name] = len(out)
				out = append(out, TableDelta{Database: db, Table: t.Name, InA: true, RowsA: t.Rows})
			}
		}
		if mb.Tables != nil {
			for _, t := range *mb.Tables {
				if i, ok := idx[t.Name]; ok {
					out[i].InB, out[i].RowsB = true, t.Rows
					continue
				}
				out = append(out, TableDelta{Database: db, Table: t.Name, InB: true, RowsB: t.Rows})
			}
		}
	}
	return out
}
