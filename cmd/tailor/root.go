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

// version is the release this binary was built as, set by the Makefile
// (-ldflags -X main.version=...) from the chart's appVersion; a plain
// go build leaves it empty. commit is the commit it was built from, for
// builds that record no VCS information (-buildvcs=false, or no git).
var version, commit string

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
			fmt.Fprintf(cmd.OutOrStdout(), "tailor %s (%s)\n", releaseOf(info), info.GoVersion)
			for _, dep := range info.Deps {
				if dep.Path == "k8s.io/kubernetes" || dep.Path == "github.com/aws/aws-sdk-go-v2" {
					fmt.Fprintf(cmd.OutOrStdout(), "  %s %s\n", dep.Path, dep.Version)
				}
			}
			return nil
		},
	}
}

// releaseOf names the build: the release it was built as, or the module's
// version, and the commit it was built from when the build recorded one.
func releaseOf(info *debug.BuildInfo) string {
	v := version
	if v == "" {
		v = info.Main.Version
	}
	rev := commit
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return v
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified {
		rev += ", modified"
	}
	return fmt.Sprintf("%s, commit %s", v, rev)
}
