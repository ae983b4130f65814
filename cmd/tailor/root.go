package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "tailor",
		Short:         "Tailor provisions EC2 capacity for Kubernetes from inside the scheduler",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCommand())
	root.AddCommand(newEC2SimCommand())
	root.AddCommand(newSchedulerCommand())
	root.AddCommand(newCatalogCommand())
	root.AddCommand(newSimulateCommand())
	root.AddCommand(newLauncherCommand())
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of tailor and the Kubernetes libraries it is built with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, ok := debug.ReadBuildInfo()
			if !ok {
				return fmt.Errorf("no build information in this binary")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "tailor %s (%s)\n", info.Main.Version, info.GoVersion)
			for _, dep := range info.Deps {
				if dep.Path == "k8s.io/kubernetes" || dep.Path == "github.com/aws/aws-sdk-go-v2" {
					fmt.Fprintf(cmd.OutOrStdout(), "  %s %s\n", dep.Path, dep.Version)
				}
			}
			return nil
		},
	}
}
