package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newUnlockCommand(a *app) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "unlock",
		Short: "Remove stale repository locks",
		Long: `Removes locks whose holder stopped refreshing them for longer than their TTL,
and locks of this host whose process is gone (killed, or the host restarted). With --all, removes every lock: only do that when you are sure no backup or
prune is running on any host.`,
		Example: "  zuulstate unlock\n  zuulstate unlock --all",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			repo, cfg, err := a.repository(ctx)
			if err != nil {
				return err
			}
			removed, err := repo.RemoveLocks(ctx, cfg.Host, all)
			for _, l := range removed {
				fmt.Fprintf(a.stdout, "removed lock %s\n", l)
			}
			if err != nil {
				return err
			}
			if len(removed) == 0 {
				locks, err := repo.Locks(ctx)
				if err != nil {
					return err
				}
				for _, l := range locks {
					fmt.Fprintf(a.stdout, "kept active lock %s (use --all to remove it)\n", l)
				}
				if len(locks) == 0 {
					fmt.Fprintln(a.stdout, "no locks")
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also remove locks that are not stale")
	return cmd
}
