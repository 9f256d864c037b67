package mariadb

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
	"github.com/zuulstate/zuulstate/sqlstream"
)

// tableCount is one line of the row count summary.
type tableCount struct {
	db, table          string // target database
	expected, restored int64  // restored is -1 when counting failed
	loaded             bool   // false: no data part of the table was selected
}

func (c tableCount) ok() bool { return !c.loaded || c.expected == c.restored }

// countRows counts the rows of the tables of s after loading. A table is
// compared when one of its data parts was selected or when the manifest
// says it is empty; the others are listed as not loaded.
func (r *Restorer) countRows(ctx context.Context, db *sql.DB, s *dbSet) ([]tableCount, error) {
	if s.schema == nil && len(s.data) == 0 {
		return nil, nil
	}
	expected, err := s.expectedRows()
	if err != nil {
		return nil, err
	}
	selected := map[string]bool{}
	for _, d := range s.data {
		selected[d.table] = true
		if _, ok := expected[d.table]; !ok {
			expected[d.table] = -1 // data for a table the schema metadata does not list
		}
	}
	target := r.target(s.name)
	history := s.withHistory()
	var out []tableCount
	for _, t := range slices.Sorted(maps.Keys(expected)) {
		c := tableCount{db: target, table: t, expected: expected[t], restored: -1,
			loaded: selected[t] || expected[t] == 0}
		if c.loaded {
			q := "SELECT COUNT(*) FROM " + sqlstream.QuoteIdent(target) + "." + sqlstream.QuoteIdent(t)
			if history[t] {
				q += " FOR SYSTEM_TIME ALL" // the dump's count includes history rows
			}
			if err := db.QueryRowContext(ctx, q).Scan(&c.restored); err != nil {
				if ctx.Err() != nil {
					return nil, fmt.Errorf("count rows of %s.%s: %w", target, t, err)
				}
				r.cfg.Log.Warn("cannot count rows", "database", target, "table", t, "err", err)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// report prints counts to Out and fails when any table differs.
func (r *Restorer) report(counts []tableCount) error {
	if len(counts) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(r.cfg.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "database\ttable\texpected\trestored\t\t")
	var bad []string
	for _, c := range counts {
		status, restored := "ok", fmt.Sprint(c.restored)
		switch {
		case !c.loaded:
			status, restored = "not selected", "-"
		case !c.ok():
			status = "MISMATCH"
			bad = append(bad, fmt.Sprintf("%s.%s (expected %d, restored %d)", c.db, c.table, c.expected, c.restored))
		}
		if c.restored < 0 && c.loaded {
			restored = "error"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t\n", c.db, c.table, c.expected, restored, status)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print row counts: %w", err)
	}
	if len(bad) > 0 {
		return fmt.Errorf("row counts differ from the manifest: %s", strings.Join(bad, ", "))
	}
	return nil
}

// addResults records the counts of the loaded tables of source database
// db for the verification table.
func (r *Restorer) addResults(db string, counts []tableCount) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range counts {
		if c.loaded {
			r.results = append(r.results, restore.Result{Source: mariadbpart.SourceName, Part: db,
				What: "rows " + c.db + "." + c.table, Expected: c.expected, Found: c.restored})
		}
	}
}

// Results returns the row counts of every table loaded so far.
func (r *Restorer) Results() []restore.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.results)
}
