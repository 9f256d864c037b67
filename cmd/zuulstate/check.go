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
		Use:   "check [--max-age 26h] [--warn-age 25h]",
		Short: "Nagios/Icinga check: is the newest verified snapshot recent and did the last run succeed",
		Long: `Prints one Nagios plugin line on stdout and exits with the Nagios state,
NOT with zuulstate's usual exit codes:

  0 OK        the newest verified snapshot is younger than --max-age and the
              last backup run succeeded
  1 WARNING   older than --warn-age, or newer snapshots fail verification
  2 CRITICAL  older than --max-age, no verified snapshot, or the last run
              failed (recorded by 'zuulstate backup' in status/last-run.json)
  3 UNKNOWN   the configuration or the repository cannot be read

"Verified" means the manifest exists and every part is present with its
recorded size (verify without --deep).`,
		Example: "  zuulstate check --max-age 26h\n  # NRPE: command[check_zuulstate]=/usr/local/bin/zuulstate check --max-age 26h",
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
	cmd.Flags().DurationVar(&o.MaxAge, "max-age", 26*time.Hour, "CRITICAL when the newest verified snapshot is older")
	cmd.Flags().DurationVar(&o.WarnAge, "warn-age", 0, "WARNING when the newest verified snapshot is older (0: no warning threshold)")
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
