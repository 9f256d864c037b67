package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/job"
)

func newDrillCommand(a *app) *cobra.Command {
	var o job.DrillOptions
	cmd := &cobra.Command{
		Use:   "drill [ID|latest] --target NAME [--scratch-dir DIR]",
		Short: "Restore a snapshot into scratch places, verify it, remove them: an automated restore test",
		Long: `Proves that a snapshot restores, unattended (weekly from cron, say). It
restores the snapshot (default: latest) into scratch places of its own on the
servers of targets.NAME: a database per snapshot database on its MariaDB, a
ZooKeeper chroot below its chroot, a volume per Docker volume on its engine,
and a directory below --scratch-dir for paths parts and bind mounts. Every
name starts with zuulstate_drill_ and the snapshot's short id; of the
target only the connections (servers, engine, credentials, TLS, chroot) are
used, never its maps, paths or profile, and every subtree is restored.

It verifies every part as restore does (rows, znodes, files, bytes, each
part's size and sha256; parts restore does not load, such as users and
grants, are decoded and checked), prints the verification table, and removes
everything it created, also after a failure or SIGTERM. It writes down what
it creates before creating it (status/drills/NAME.json in the repository):
the next drill into the target removes what a killed drill left. If a
scratch name exists otherwise, it refuses with the names and exit code 7,
touching nothing; while another drill runs into the target, exit code 3.

The outcome goes to status/last-drill.json in the repository, to the
metrics (zuulstate_drill_*, in a textfile of its own next to
metrics.textfile, and pushed as operation="drill"), and 'zuulstate check
--max-drill-age 8d' reads it. With --quiet a passed drill prints nothing.`,
		Example: `  zuulstate drill --target drill
  zuulstate drill latest~1 --target drill --scratch-dir /var/tmp/zuulstate-drill
  # cron: 0 5 * * 0 root zuulstate drill --quiet --target drill`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError{fmt.Errorf("expected at most one argument: the snapshot (id, id prefix, 'latest' or 'latest~N'), got %d", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Snapshot = args[0]
			}
			cfg, err := a.config()
			if err != nil {
				return err
			}
			o.ToolVersion, o.Quiet, o.Log, o.Out = toolVersion(), a.quiet, a.log, a.stdout
			return job.Drill(cmd.Context(), cfg, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Target, "target", "", "targets.NAME whose MariaDB, ZooKeeper and Docker engine hold the scratch places (required)")
	fl.StringVar(&o.ScratchDir, "scratch-dir", "", "directory below which the drill makes its own for paths parts and bind mounts (default: state_dir/drill)")
	return cmd
}
