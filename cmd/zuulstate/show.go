package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/internal/units"
	"github.com/zuulstate/zuulstate/snapshot"
)

func newShowCommand(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "show ID|latest",
		Short:   "Show one snapshot's manifest",
		Example: "  zuulstate show latest\n  zuulstate show 20261125T211304Z --json",
		Args:    exactlyOneArg("snapshot id, id prefix, 'latest' or 'latest~N'"),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, _, err := a.snapshot(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				data, err := m.Encode()
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "%s\n", data)
				return err
			}
			fmt.Fprintf(a.stdout, "snapshot  %s\nhost      %s\nstart     %s\nend       %s\ntool      zuulstate %s (format %d)\ntags      %v\n\n",
				m.ID, m.Host, m.Start.Format("2006-01-02 15:04:05 MST"), m.End.Format("2006-01-02 15:04:05 MST"), m.ToolVersion, m.Format, m.Tags)
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SOURCE\tPART\tRAW\tSTORED\tENCRYPTION\tCONTENT")
			for _, p := range m.Parts {
				enc := p.Encryption
				if enc == "" {
					enc = "none"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Source, p.Name, units.Bytes(p.RawSize), units.Bytes(p.AddedBytes()), enc, partContent(p))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the manifest as JSON")
	return cmd
}

// partContent says how a part's content is proven: its raw sha256 (format
// 2), or its chunks (format 3), what was new and what was reused unread.
func partContent(p snapshot.Part) string {
	c := p.Chunked
	if c == nil {
		return "sha256 " + p.RawSHA256
	}
	s := fmt.Sprintf("%d chunk slices, %d new chunks", c.Refs, c.NewChunks)
	if c.ReusedFiles > 0 {
		s += fmt.Sprintf(", %d files unchanged (%s not read)", c.ReusedFiles, units.Bytes(c.ReusedBytes))
	}
	return s
}
