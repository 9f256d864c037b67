package snapdiff

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"

	"github.com/zuulstate/zuulstate/internal/units"
)

// FormatChange is the --details line of one change.
func FormatChange(c Change) string {
	line := fmt.Sprintf("%s/%s: %s %s", c.Source, c.Part, c.Kind, c.Path)
	if c.Detail != "" {
		line += " (" + c.Detail + ")"
	}
	return line
}

// Write prints the summary: one line per part (mariadb data and post parts
// only when present on one side, since the row counts say more), then
// the tables whose row count changed.
func Write(w io.Writer, r *Report) error {
	fmt.Fprintf(w, "A: %s (host %s, %s)\nB: %s (host %s, %s)\n\n", r.A.ID, r.A.Host, r.A.End.UTC().Format("2006-01-02 15:04 UTC"),
		r.B.ID, r.B.Host, r.B.End.UTC().Format("2006-01-02 15:04 UTC"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tPART\tSTATUS\tOF\tADDED\tREMOVED\tCHANGED\tSIZE A\tSIZE B\t")
	hidden := 0
	for _, p := range r.Parts {
		if p.Source == "mariadb" && p.Status != StatusOnlyA && p.Status != StatusOnlyB {
			hidden++
			continue
		}
		added, removed, changed := "", "", ""
		if p.Unit != "" {
			added, removed, changed = fmt.Sprint(p.Added), fmt.Sprint(p.Removed), fmt.Sprint(p.Changed)
		} else if p.Status == StatusChanged {
			changed = "content"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", p.Source, p.Part, p.Status, p.Unit, added, removed, changed, size(p.SizeA, p.Status != StatusOnlyB), size(p.SizeB, p.Status != StatusOnlyA))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if hidden > 0 {
		fmt.Fprintf(w, "(%d mariadb parts in both snapshots: compared by their row counts below)\n", hidden)
	}
	if len(r.Tables) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DATABASE\tTABLE\tROWS A\tROWS B\tDELTA\t")
	same := 0
	for _, t := range r.Tables {
		switch {
		case !t.InA:
			fmt.Fprintf(tw, "%s\t%s\t-\t%d\tnew table\t\n", t.Database, t.Table, t.RowsB)
		case !t.InB:
			fmt.Fprintf(tw, "%s\t%s\t%d\t-\ttable gone\t\n", t.Database, t.Table, t.RowsA)
		case t.RowsA != t.RowsB:
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%+d\t\n", t.Database, t.Table, t.RowsA, t.RowsB, t.RowsB-t.RowsA)
		default:
			same++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "(%d tables with the same row count)\n", same)
	for _, db := range slices.Sorted(maps.Keys(r.Alembic)) {
		fmt.Fprintf(w, "database %s: alembic version %s\n", db, r.Alembic[db])
	}
	return nil
}

func size(n int64, present bool) string {
	if !present {
		return "-"
	}
	return units.Bytes(n)
}
