package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/job"
	"github.com/zuulstate/zuulstate/monitor"
)

func newCheckCommand(a *app) *cobra.Command {
	var o monitor.CheckOptions
	cmd := &cobra.Command{
		Use:   "check [--max-age 26h] [--warn-age 25h] [--max-drill-age 8d]",
		Short: "Nagios/Icinga check: is the newest verified snapshot recent, did the last run succeed (and the last drill)",
		Long: `Prints one Nagios plugin line on stdout and exits with the Nagios state,
NOT with zuulstate's usual exit codes:

  0 OK        the newest verified snapshot is younger than --max-age and the
              last backup run succeeded
  1 WARNING   older than --warn-age, or newer snapshots fail verification
  2 CRITICAL  older than --max-age, no verified snapshot, or the last run
              failed (recorded by 'zuulstate backup' in status/last-run.json)
  3 UNKNOWN   the configuration or the repository cannot be read

With --max-drill-age (8d for a weekly drill) it also reads the last restore
drill (status/last-drill.json, written by 'zuulstate drill'): CRITICAL when
no drill succeeded within that age, WARNING when the last drill failed after
a recent enough success. Ages take s, m, h and d (26h, 8d).

"Verified" means the manifest exists and every part is present with its
recorded size (verify without --deep).`,
		Example: "  zuulstate check --max-age 26h\n  zuulstate check --max-age 26h --max-drill-age 8d\n  # NRPE: command[check_zuulstate]=/usr/local/bin/zuulstate check --max-age 26h --max-drill-age 8d",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("check takes no arguments, got %q", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.MaxAge <= 0 || o.WarnAge < 0 || (o.WarnAge > 0 && o.WarnAge >= o.MaxAge) {
				return fmt.Errorf("--max-age must be positive and --warn-age, if given, smaller (got %s, %s)", o.MaxAge, o.WarnAge)
			}
			if o.MaxDrillAge < 0 {
				return fmt.Errorf("--max-drill-age must not be negative (got %s)", o.MaxDrillAge)
			}
			ctx := cmd.Context()
			repo, _, err := a.repository(ctx)
			if err != nil {
				return err
			}
			r := monitor.Check(ctx, repo, o)
			fmt.Fprintln(a.stdout, r.Line())
			if r.State != monitor.OK {
				return nagiosExit{state: r.State, line: r.Line()}
			}
			return nil
		},
	}
	o.MaxAge = 26 * time.Hour
	cmd.Flags().Var(ageValue{&o.MaxAge}, "max-age", "CRITICAL when the newest verified snapshot is older")
	cmd.Flags().Var(ageValue{&o.WarnAge}, "warn-age", "WARNING when the newest verified snapshot is older (0: no warning threshold)")
	cmd.Flags().Var(ageValue{&o.MaxDrillAge}, "max-drill-age", "also CRITICAL when the last successful restore drill (zuulstate drill) is older, e.g. 8d (0: drills are not checked)")
	// Every problem before a verdict (flags, configuration, repository) is
	// UNKNOWN in Nagios terms, printed like a verdict.
	unknown := func(err error) error {
		line := "ZUULSTATE UNKNOWN - " + job.OneLine(cmd.Context(), err)
		fmt.Fprintln(a.stdout, line)
		return nagiosExit{state: monitor.Unknown, line: line}
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return unknown(err) })
	run, args := cmd.RunE, cmd.Args
	cmd.Args = func(c *cobra.Command, as []string) error {
		if err := args(c, as); err != nil {
			return unknown(err)
		}
		return nil
	}
	cmd.RunE = func(c *cobra.Command, as []string) error {
		err := run(c, as)
		if err != nil && !alreadyReported(err) {
			return unknown(err)
		}
		return err
	}
	return cmd
}
