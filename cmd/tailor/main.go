// Command tailor is every Tailor program in one binary, so the scheduler code
// is linked once: the scheduler, the launcher, the EC2 simulator and the CLI
// are its subcommands.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "tailor:", err)
		os.Exit(1)
	}
}
