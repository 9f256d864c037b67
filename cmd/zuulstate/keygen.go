package main

import (
	"errors"
	"fmt"
	"os"

	"filippo.io/age"
	"github.com/spf13/cobra"
)

func newKeygenCommand(a *app) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen --output FILE",
		Short: "Create an age key pair for encrypting snapshots",
		Long: `Writes a new age X25519 identity (private key) to FILE with mode 0600 and prints
its public key. Put the public key under repository.encryption.recipients on
the backup host; keep FILE off that host, where restores happen.`,
		Example: "  zuulstate keygen --output /root/zuulstate-key.txt",
		Args:    cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{errors.New("--output FILE is required (the private key is never printed)")}
			}
			id, err := age.GenerateX25519Identity()
			if err != nil {
				return err
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("create %s: %w (it must not exist yet)", out, err)
			}
			_, err = fmt.Fprintf(f, "# created by zuulstate keygen\n# public key: %s\n%s\n", id.Recipient(), id)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("write %s: %w", out, err)
			}
			fmt.Fprintln(a.stdout, id.Recipient())
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file for the private key (created with mode 0600)")
	return cmd
}
