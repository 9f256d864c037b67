package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/config"
)

func newConfigCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect the configuration"}
	var connect bool
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and print it with secrets redacted",
		Example: "  zuulstate config check --config /etc/zuulstate/zuulstate.yaml\n" +
			"  zuulstate config check --connect   # also open the repository",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			out, err := cfg.Redacted()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s", out)
			if connect {
				if _, err := config.OpenRepository(cmd.Context(), cfg); err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, "# repository reachable")
			}
			fmt.Fprintln(a.stdout, "# configuration is valid")
			return nil
		},
	}
	check.Flags().BoolVar(&connect, "connect", false, "also connect to the repository")
	cmd.AddCommand(check)
	return cmd
}
