package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/restore"
	rpaths "github.com/zuulstate/zuulstate/restore/paths"
)

func newRestoreCommand(a *app) *cobra.Command {
	var (
		target          string
		original, force bool
		dryRun, skipVfy bool
		include         []string
	)
	cmd := &cobra.Command{
		Use:   "restore ID|latest (--target DIR | --original)",
		Short: "Restore a snapshot",
		Long: `Restores the parts of a snapshot. Every target is checked and every selected
part is read back and verified before anything is written, so a corrupt
snapshot changes nothing. Targets must be empty unless --force is given.

paths parts go to DIR/<part name> with --target DIR, or back to the directory
they were taken from with --original.`,
		Example: `  zuulstate restore latest --target /srv/restore
  zuulstate restore 20261125T211304Z-3fa1c2d9 --include paths/certs --original --force`,
		Args: exactlyOneArg("snapshot id or 'latest'"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (target == "") == !original {
				return usageError{errors.New("give exactly one of --target DIR or --original")}
			}
			ctx := cmd.Context()
			m, repo, err := a.snapshot(ctx, args[0])
			if err != nil {
				return err
			}
			id := m.ID
			restorers := []restore.Restorer{&rpaths.Restorer{Target: target, Force: force}}
			parts, err := restore.Run(ctx, repo, m, restorers, restore.Options{
				Include: include, SkipVerify: skipVfy, DryRun: dryRun, Log: a.log,
			})
			if err != nil {
				return fmt.Errorf("restore of snapshot %s failed: %w", id, err)
			}
			verb := "restored"
			if dryRun {
				verb = "would restore"
			}
			for _, p := range parts {
				if a.quiet && !dryRun {
					break
				}
				fmt.Fprintf(a.stdout, "%s %s/%s (%s)\n", verb, p.Source, p.Name, humanBytes(p.RawSize))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "target", "", "directory that receives one subdirectory per paths part")
	f.BoolVar(&original, "original", false, "restore paths parts to the directories they were taken from")
	f.BoolVar(&force, "force", false, "restore into non-empty targets, replacing files")
	f.BoolVar(&dryRun, "dry-run", false, "check targets and list what would be restored")
	f.BoolVar(&skipVfy, "skip-verify", false, "do not read every part once before writing (faster, but a corrupt part is found only midway)")
	f.StringArrayVar(&include, "include", nil, "restore only SOURCE or SOURCE/PART (repeatable)")
	return cmd
}
