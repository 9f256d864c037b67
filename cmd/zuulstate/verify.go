package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/snapshot"
)

func newVerifyCommand(a *app) *cobra.Command {
	var all, deep bool
	var subsetText string
	cmd := &cobra.Command{
		Use:   "verify [ID|latest] [--all] [--deep | --read-data-subset N/M|P%]",
		Short: "Check that snapshots are complete and intact",
		Long: `Without --deep, checks that every part of the snapshot exists with the size
its manifest records (for deduplicated snapshots: every pack they need exists
with its size). With --deep, downloads every part, decrypts (when an
identity is configured; otherwise re-hashes the encrypted bytes), decompresses
and re-hashes it against the manifest; every chunk of a deduplicated part is
checked against its id.

--read-data-subset reads only part of the data as --deep does, for large
repositories: N/M reads the N-th of M fixed groups of packs (run 1/7 to 7/7 on
seven nights to read everything once a week); P% reads about P percent of the
packs, picked at random on each run. Everything else is checked as without
--deep.`,
		Example: "  zuulstate verify latest --deep\n  zuulstate verify --all\n  zuulstate verify --all --read-data-subset 1/7",
		Args: func(_ *cobra.Command, args []string) error {
			if all == (len(args) == 1) || len(args) > 1 {
				return usageError{errors.New("give one snapshot (id, id prefix, 'latest' or 'latest~N'), or --all")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			o := repository.VerifyOptions{Deep: deep}
			if subsetText != "" {
				if deep {
					return usageError{errors.New("--deep reads all the data and --read-data-subset a part of it: give one of them")}
				}
				subset, err := repository.ParseDataSubset(subsetText)
				if err != nil {
					return usageError{err}
				}
				o.Subset = subset
			}
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
				checks, err := repo.VerifyWith(ctx, m, o)
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
			if o.Subset != nil {
				picked, asked := o.Subset.Counts()
				fmt.Fprintf(a.stdout, "read the data of %d of %d packs and part objects (subset %s)\n", picked, asked, o.Subset)
			}
			fmt.Fprintf(a.stdout, "%d snapshots verified\n", len(ids))
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "verify every snapshot")
	cmd.Flags().BoolVar(&deep, "deep", false, "read back and re-hash every byte")
	cmd.Flags().StringVar(&subsetText, "read-data-subset", "", "read back the data of a subset of the packs: N/M (the N-th of M groups) or P% (random)")
	return cmd
}
