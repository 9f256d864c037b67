package mariadb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
)

type partKind int

const (
	kindSchema partKind = iota
	kindData
	kindPost
	kindGrants
)

// item is one classified part. Exactly one of the metadata pointers that
// fits kind is set when the part has metadata.
type item struct {
	part      snapshot.Part
	kind      partKind
	db, table string
	schema    *mariadbpart.DatabaseMeta
	data      *mariadbpart.DataMeta
	post      *mariadbpart.PostMeta
	grants    *mariadbpart.GrantsMeta
}

// dbSet holds the selected parts of one source database.
type dbSet struct {
	name   string
	schema *item
	data   []item
	post   *item
}

// classify reads part p's kind from its name (docs/MARIADB.md), or from
// its metadata when the name was shortened, and its database and table from
// its metadata (names in part names may be hex-encoded or shortened).
func classify(p snapshot.Part) (item, error) {
	it := item{part: p}
	kind, db, table, ok := parseName(p.Name)
	if !ok {
		if kind, ok = sniff(p.Meta); !ok {
			return it, fmt.Errorf("part %s: %w: not a mariadb part name", p.Name, snapshot.ErrCorrupt)
		}
	}
	it.kind, it.db, it.table = kind, db, table
	if len(bytes.TrimSpace(p.Meta)) == 0 {
		return it, nil
	}
	var dst any
	switch kind {
	case kindGrants:
		it.grants = &mariadbpart.GrantsMeta{}
		if err := json.Unmarshal(p.Meta, it.grants); err != nil {
			return it, fmt.Errorf("part %s: %w: metadata: %w", p.Name, snapshot.ErrCorrupt, err)
		}
		return it, nil
	case kindSchema:
		it.schema = &mariadbpart.DatabaseMeta{}
		dst = it.schema
	case kindData:
		it.data = &mariadbpart.DataMeta{}
		dst = it.data
	default:
		it.post = &mariadbpart.PostMeta{}
		dst = it.post
	}
	if err := json.Unmarshal(p.Meta, dst); err != nil {
		return it, fmt.Errorf("part %s: %w: metadata: %w", p.Name, snapshot.ErrCorrupt, err)
	}
	switch {
	case it.schema != nil && it.schema.Database != "":
		it.db = it.schema.Database
	case it.data != nil && it.data.Database != "":
		it.db, it.table = it.data.Database, it.data.Table
	case it.post != nil && it.post.Database != "":
		it.db = it.post.Database
	}
	if it.db == "" {
		return it, fmt.Errorf("part %s: %w: metadata names no database", p.Name, snapshot.ErrCorrupt)
	}
	return it, nil
}

// parseName classifies D.schema, D.post, D.T.data, D.T.data.N and grants.
func parseName(name string) (kind partKind, db, table string, ok bool) {
	f := strings.Split(name, ".")
	switch {
	case name == "grants":
		return kindGrants, "", "", true
	case len(f) == 2 && f[1] == "schema":
		return kindSchema, f[0], "", true
	case len(f) == 2 && f[1] == "post":
		return kindPost, f[0], "", true
	case len(f) == 3 && f[2] == "data", len(f) == 4 && f[2] == "data" && isNumber(f[3]):
		return kindData, f[0], f[1], true
	}
	return 0, "", "", false
}

// sniff classifies a part whose name was shortened by its metadata fields.
func sniff(meta json.RawMessage) (partKind, bool) {
	var keys map[string]json.RawMessage
	if json.Unmarshal(meta, &keys) != nil {
		return 0, false
	}
	has := func(k string) bool { _, ok := keys[k]; return ok }
	switch {
	case has("table"):
		return kindData, true
	case has("lock_mode") || has("server_version"):
		return kindSchema, true
	case has("database"):
		return kindPost, true
	}
	return 0, false
}

func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// group sorts parts into databases, in the order they first appear, and
// returns the grants part if selected.
func group(parts []snapshot.Part) ([]*dbSet, *item, error) {
	var (
		sets   []*dbSet
		byName = map[string]*dbSet{}
		grants *item
	)
	for _, p := range parts {
		it, err := classify(p)
		if err != nil {
			return nil, nil, err
		}
		if it.kind == kindGrants {
			grants = &it
			continue
		}
		s := byName[it.db]
		if s == nil {
			s = &dbSet{name: it.db}
			byName[it.db] = s
			sets = append(sets, s)
		}
		switch it.kind {
		case kindSchema:
			s.schema = &it
		case kindPost:
			s.post = &it
		default:
			s.data = append(s.data, it)
		}
	}
	return sets, grants, nil
}

// expectedRows returns the row count expected per table of s: the schema
// part's table list when it is selected, else the sum of the selected data
// parts' rows.
func (s *dbSet) expectedRows() (map[string]int64, error) {
	out := map[string]int64{}
	if s.schema != nil && s.schema.schema != nil {
		for _, t := range s.schema.schema.Tables {
			out[t.Name] = t.Rows
		}
		return out, nil
	}
	for _, d := range s.data {
		if d.data == nil {
			return nil, fmt.Errorf("part %s: %w: no metadata, so no row count", d.part.Name, snapshot.ErrCorrupt)
		}
		out[d.table] += d.data.Rows
	}
	return out, nil
}

// withHistory returns the system-versioned tables dumped with their history.
func (s *dbSet) withHistory() map[string]bool {
	out := map[string]bool{}
	if s.schema != nil && s.schema.schema != nil {
		for _, t := range s.schema.schema.Tables {
			out[t.Name] = t.History
		}
	}
	for _, d := range s.data {
		if d.data != nil && d.data.History {
			out[d.table] = true
		}
	}
	return out
}
