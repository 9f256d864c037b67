package main

import (
	"github.com/spf13/cobra"

	restorevolumes "github.com/zuulstate/zuulstate/restore/volumes"
)

// newVolumesHelperCommand is what zuulstate runs as inside a restore
// helper container (restore/volumes, the engine-API way): it reads a tar
// archive on stdin, extracts it with dirtar's staged extract and prints
// the counts as JSON. Hidden: operators never call it.
func newVolumesHelperCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: restorevolumes.HelperCommand[0], Hidden: true, Args: cobra.NoArgs}
	var replace, allowDevices bool
	extract := &cobra.Command{
		Use:  restorevolumes.HelperCommand[1] + " DIR",
		Args: exactlyOneArg("target directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return restorevolumes.HelperExtract(cmd.Context(), cmd.InOrStdin(), a.stdout, args[0], replace, allowDevices)
		},
	}
	extract.Flags().BoolVar(&replace, restorevolumes.FlagReplace[2:], false, "replace the content of a non-empty DIR")
	extract.Flags().BoolVar(&allowDevices, restorevolumes.FlagAllowDevices[2:], false, "create device nodes")
	cmd.AddCommand(extract)
	return cmd
}
