// Command bench measures Tailor on this machine and prints one table: the
// solver's throughput (Go benchmarks of plugin/solver), and on a local
// cluster with zero boot delay, started for the purpose: how long pending
// pods take to run, how long a closed batch takes to become NodeClaims,
// the scheduler's throughput for pods that fit existing nodes with and
// without Tailor, and the peak memory of the scheduler and the launcher.
// Nothing here asserts a time: it reports.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one line of the report.
type row struct {
	what, value, how string
}

func main() {
	solverOnly := flag.Bool("solver-only", false, "run only the solver benchmarks, without a local cluster")
	dir := flag.String("dir", ".local-bench", "directory of the benchmark's local cluster")
	flag.Parse()
	ctx := context.Background()

	var rows []row
	solver, err := solverBenchmarks(ctx)
	if err != nil {
		fail(err)
	}
	rows = append(rows, solver...)
	if !*solverOnly {
		abs, err := filepath.Abs(*dir)
		if err != nil {
			fail(err)
		}
		cluster, err := clusterBenchmarks(ctx, abs)
		if err != nil {
			fail(err)
		}
		rows = append(rows, cluster...)
	}
	fmt.Printf("\nTailor performance on this machine (%s)\n\n", time.Now().UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASURE\tVALUE\tHOW")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.what, r.value, r.how)
	}
	tw.Flush()
}

// run executes a command in the repository root and returns its output.
func run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, lastLines(string(out), 20))
	}
	return string(out), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
