package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/internal/units"
	"github.com/zuulstate/zuulstate/snapshot"
)

// snapshotRow is one line of `snapshots` output; a manifest that does not
// load is still listed, with the reason, so corruption is visible.
type snapshotRow struct {
	ID          string    `json:"id"`
	Start       time.Time `json:"start,omitzero"`
	Duration    string    `json:"duration,omitempty"`
	Host        string    `json:"host,omitempty"`
	Tags        []string  `json:"tags,omitempty"`
	Parts       int       `json:"parts"`
	RawBytes    int64     `json:"raw_bytes"`
	StoredBytes int64     `json:"stored_bytes"`
	Error       string    `json:"error,omitempty"`
}

func newSnapshotsCommand(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "snapshots",
		Short:   "List the snapshots in the repository, oldest first",
		Example: "  zuulstate snapshots\n  zuulstate snapshots --json | jq -r '.[-1].id'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			repo, _, err := a.repository(ctx)
			if err != nil {
				return err
			}
			ids, err := repo.IDs(ctx)
			if err != nil {
				return err
			}
			rows := make([]snapshotRow, 0, len(ids))
			for _, id := range ids {
				m, err := repo.Manifest(ctx, id)
				if err != nil {
					rows = append(rows, snapshotRow{ID: id, Error: err.Error()})
					continue
				}
				rows = append(rows, rowOf(m))
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTART (UTC)\tDURATION\tHOST\tPARTS\tRAW\tSTORED\tTAGS")
			for _, r := range rows {
				if r.Error != "" {
					fmt.Fprintf(tw, "%s\tUNREADABLE: %s\n", r.ID, r.Error)
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.ID, r.Start.Format("2006-01-02 15:04:05"), r.Duration,
					r.Host, r.Parts, units.Bytes(r.RawBytes), units.Bytes(r.StoredBytes), strings.Join(r.Tags, ","))
			}
			fmt.Fprintf(tw, "%d snapshots\n", len(rows))
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func rowOf(m *snapshot.Manifest) snapshotRow {
	return snapshotRow{ID: m.ID, Start: m.Start, Duration: m.End.Sub(m.Start).Round(time.Second).String(), Host: m.Host,
		Tags: m.Tags, Parts: len(m.Parts), RawBytes: m.RawBytes(), StoredBytes: m.StoredBytes()}
}
