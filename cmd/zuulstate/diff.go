package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/snapdiff"
	"github.com/zuulstate/zuulstate/snapshot"
)

func newDiffCommand(a *app) *cobra.Command {
	var details bool
	cmd := &cobra.Command{
		Use:   "diff A B [--details]",
		Short: "Show what changed between two snapshots",
		Long: `Compares snapshot A with snapshot B, per source: znodes added, removed and
changed (data, ACL, kind) in the zookeeper tree; files added, removed and
changed (type, size, content hash, mode, owner, mtime, link target, xattrs)
in paths and volumes parts; row-count changes per table (from the manifests)
and the alembic version for mariadb; and parts present in only one snapshot.
Parts with the same checksum are not read; the others are streamed side by
side, one entry of each at a time. A and B are ids, unique id prefixes,
latest, or latest~N (the Nth before the latest). --details lists every
added, removed and changed znode and file.`,
		Example: `  zuulstate diff latest~1 latest
  zuulstate diff 20261124T020000Z latest --details`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError{errors.New("expected two arguments: snapshot A and snapshot B (ids, latest or latest~N)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			repo, _, err := a.repository(ctx)
			if err != nil {
				return err
			}
			var ms [2]*snapshot.Manifest
			for i, ref := range args {
				if ms[i], err = manifest(ctx, repo, ref); err != nil {
					return err
				}
			}
			o := snapdiff.Options{Open: snapdiff.Opener(restore.PartOpener(repo))}
			if details {
				fmt.Fprintln(a.stdout, "Changes:")
				o.OnChange = func(c snapdiff.Change) { fmt.Fprintln(a.stdout, "  "+snapdiff.FormatChange(c)) }
			}
			rep, err := snapdiff.Diff(ctx, ms[0], ms[1], o)
			if err != nil {
				return fmt.Errorf("diff %s %s: %w", ms[0].ID, ms[1].ID, err)
			}
			if details {
				fmt.Fprintln(a.stdout)
			}
			return snapdiff.Write(a.stdout, rep)
		},
	}
	cmd.Flags().BoolVar(&details, "details", false, "list every added, removed and changed znode and file")
	return cmd
}
