package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/backup"
	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/snapshot"
)

func newBackupCommand(a *app) *cobra.Command {
	var tags []string
	var lockWait time.Duration
	var withGrants bool
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Write one snapshot of every configured source",
		Long: `Runs every configured source into one new snapshot. The snapshot exists only
once its manifest is written, after every part was stored; a failed or
interrupted run deletes its parts, writes no manifest and exits non-zero.`,
		Example: `  zuulstate backup --config /etc/zuulstate/zuulstate.yaml --tag nightly --quiet
  zuulstate backup --with-grants --tag before-upgrade`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, t := range tags {
				if err := snapshot.CheckName("--tag", t); err != nil {
					return usageError{err}
				}
			}
			ctx := cmd.Context()
			repo, cfg, err := a.repository(ctx)
			if err != nil {
				return err
			}
			if withGrants {
				if cfg.Sources.MariaDB == nil {
					return usageError{fmt.Errorf("--with-grants needs sources.mariadb in the configuration")}
				}
				cfg.Sources.MariaDB.WithGrants = true
			}
			sources, err := snapshotters(cfg, a.log)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("lock-wait") {
				lockWait = cfg.Repository.LockWait
			}
			m, err := backup.Run(ctx, repo, sources, backup.Options{
				Info: repository.SnapshotInfo{ToolVersion: toolVersion(), Host: cfg.Host, Tags: append(cfg.Tags, tags...)},
				Lock: repository.LockOptions{Host: cfg.Host, TTL: cfg.Repository.LockTTL, Wait: lockWait},
				Log:  a.log,
			})
			if err != nil {
				return fmt.Errorf("backup failed: %w", err)
			}
			if !a.quiet {
				fmt.Fprintln(a.stdout, m.ID)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "tag the snapshot (repeatable)")
	cmd.Flags().DurationVar(&lockWait, "lock-wait", 0, "wait this long for a locked repository instead of failing")
	cmd.Flags().BoolVar(&withGrants, "with-grants", false, "also store the users and grants that apply to the dumped databases (mariadb; same as with_grants: true)")
	return cmd
}
