package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/snapshot"
)

func newVerifyCommand(a *app) *cobra.Command {
	var all, deep bool
	cmd := &cobra.Command{
		Use:   "verify [ID|latest] [--all] [--deep]",
		Short: "Check that snapshots are complete and intact",
		Long: `Without --deep, checks that every part of the snapshot exists with the size
its manifest records. With --deep, downloads every part, decrypts (when an
identity is configured; otherwise re-hashes the encrypted bytes), decompresses
and re-hashes it against the manifest.`,
		Example: "  zuulstate verify latest --deep\n  zuulstate verify --all",
		Args: func(_ *cobra.Command, args []string) error {
			if all == (len(args) == 1) || len(args) > 1 {
				return usageError{errors.New("give one snapshot (id, id prefix, 'latest' or 'latest~N'), or --all")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			repo, _, err := a.repository(ctx)
			if err != nil {
				return err
			}
			var ids []string
			if all {
				if ids, err = repo.IDs(ctx); err != nil {
					return err
				}
			} else {
				id, err := repo.Resolve(ctx, args[0])
				if err != nil {
					return err
				}
				ids = []string{id}
			}
			var failed []error
			for _, id := range ids {
				m, err := repo.Manifest(ctx, id)
				if err != nil {
					if !errors.Is(err, snapshot.ErrCorrupt) {
						return err
					}
					fmt.Fprintf(a.stdout, "%s  FAILED  %v\n", id, err)
					failed = append(failed, err)
					continue
				}
				checks, err := repo.Verify(ctx, m, deep)
				for _, c := range checks {
					status := "ok (" + c.Level + ")"
					if c.Err != nil {
						status = "FAILED  " + c.Err.Error()
					}
					fmt.Fprintf(a.stdout, "%s  %s/%s  %s\n", id, c.Part.Source, c.Part.Name, status)
				}
				if err != nil {
					if !errors.Is(err, snapshot.ErrCorrupt) {
						return err
					}
					failed = append(failed, err)
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf("%d of %d snapshots failed verification: %w", len(failed), len(ids), errors.Join(failed...))
			}
			fmt.Fprintf(a.stdout, "%d snapshots verified\n", len(ids))
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "verify every snapshot")
	cmd.Flags().BoolVar(&deep, "deep", false, "read back and re-hash every byte")
	return cmd
}
