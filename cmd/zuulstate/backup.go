package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/job"
	"github.com/zuulstate/zuulstate/snapshot"
)

type backupFlags struct {
	tags        []string
	lockWait    time.Duration
	withGrants  bool
	prune       bool
	concurrency int
	forceRead   bool
}

func newBackupCommand(a *app) *cobra.Command {
	var f backupFlags
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Write one snapshot of every configured source",
		Long: `Runs every configured source into one new snapshot, the sources at the same
time (a volumes source that stops containers runs after the others). The
snapshot exists only once its manifest is written, after every part was
stored; a failed or interrupted run deletes its parts, writes no manifest
and exits non-zero with one line naming the failed source.

Around the run: hooks.pre commands (a failure aborts), hooks.post commands
(always, with ZUULSTATE_RESULT and ZUULSTATE_SNAPSHOT_ID), the record of
the run in the repository (status/last-run.json, read by 'zuulstate check')
and the metrics configured under metrics:. With --quiet a successful run
prints nothing at all. See docs/OPERATIONS.md.`,
		Example: `  zuulstate backup --config /etc/zuulstate/zuulstate.yaml --tag nightly --prune --quiet
  zuulstate backup --with-grants --tag before-upgrade`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("lock-wait") {
				f.lockWait = -1
			}
			return a.runBackup(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.tags, "tag", nil, "tag the snapshot (repeatable)")
	fl.DurationVar(&f.lockWait, "lock-wait", 0, "wait this long for a locked repository instead of failing (default: repository.lock_wait)")
	fl.BoolVar(&f.withGrants, "with-grants", false, "also store the users and roles that apply to the dumped databases, with their grants (mariadb; same as with_grants: true)")
	fl.BoolVar(&f.prune, "prune", false, "after a successful backup, delete what the configured retention does not keep (under the same lock)")
	fl.IntVar(&f.concurrency, "concurrency", 0, "sources run at once (0: all; 1: one after the other)")
	fl.BoolVar(&f.forceRead, "force-read", false, "read every file, even those unchanged since this host's last snapshot (size, mtime, ctime, inode, mode)")
	return cmd
}

// runBackup checks the flags, runs the backup job and prints the new
// snapshot's id.
func (a *app) runBackup(ctx context.Context, f backupFlags) error {
	for _, t := range f.tags {
		if err := snapshot.CheckName("--tag", t); err != nil {
			return usageError{err}
		}
	}
	if f.concurrency < 0 {
		return usageError{fmt.Errorf("--concurrency %d: use 0 (all sources at once) or more", f.concurrency)}
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	m, err := job.Backup(ctx, cfg, job.BackupOptions{
		Tags: f.tags, LockWait: f.lockWait, WithGrants: f.withGrants, Prune: f.prune, Concurrency: f.concurrency, ForceRead: f.forceRead,
		ToolVersion: toolVersion(), Environ: os.Environ(), Log: a.log, ShowProgress: a.showProgress,
	})
	if m != nil && !a.quiet {
		fmt.Fprintln(a.stdout, m.ID)
	}
	return err
}
