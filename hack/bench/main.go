// Command bench measures Tailor on this machine and prints one table: the
// solver's throughput (Go benchmarks of plugin/solver), Karpenter's
// scheduler and Tailor's solver compared on the same pods and instance
// types (compare.go; -compare-only runs that alone), and on a local
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
	solverOnly := flag.Bool("solver-only", false, "run the solver benchmarks and the comparison, without a local cluster")
	dir := flag.String("dir", ".local-bench", "directory of the benchmark's local cluster")
	compareOnly := flag.Bool("compare-only", false, "run only the comparison with Karpenter's scheduler")
	noCompare := flag.Bool("no-compare", false, "skip the comparison with Karpenter's scheduler")
	clusterOnly := flag.Bool("cluster-only", false, "run only the local cluster's measures")
	sizesFlag := flag.String("sizes", "1000,5000,10000,20000", "pod counts of the comparison, comma-separated")
	preference := flag.Int("preference", 4000, "pods of Karpenter's preference workload (makePreferencePods) in the comparison; 0 leaves it out")
	warmup := flag.Int("warmup", 1, "solves of each size and side before the measured ones")
	runs := flag.Int("runs", 3, "measured solves of each size and side; the median is reported")
	// Tailor's side of the comparison: this program run again, so it
	// solves in a process of its own as Karpenter's side does.
	tailorSide := flag.Bool("tailor-side", false, "internal: solve -pods with -types and print the samples")
	podsPath := flag.String("pods", "", "internal: the pods file of -tailor-side")
	typesPath := flag.String("types", "", "internal: the types file of -tailor-side")
	cpuProfile := flag.String("cpuprofile", "", "with -tailor-side: write a CPU profile of the measured solves to this file")
	flag.Parse()
	ctx := context.Background()

	if *tailorSide {
		if err := runTailorSide(*podsPath, *typesPath, *warmup, *runs, *cpuProfile); err != nil {
			fail(err)
		}
		return
	}
	sizes, err := parseSizes(*sizesFlag)
	if err != nil {
		fail(err)
	}
	if *runs < 1 || *warmup < 0 {
		fail(fmt.Errorf("-runs must be 1 or more and -warmup 0 or more"))
	}

	var rows []row
	if *clusterOnly {
		*noCompare = true
	}
	if !*compareOnly && !*clusterOnly {
		solver, err := solverBenchmarks(ctx)
		if err != nil {
			fail(err)
		}
		rows = append(rows, solver...)
	}
	var compared *comparison
	if !*noCompare {
		if compared, err = runComparison(ctx, sizes, *preference, *warmup, *runs); err != nil {
			fail(fmt.Errorf("comparing with Karpenter: %w", err))
		}
	}
	if !*solverOnly && !*compareOnly {
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
	if !*compareOnly {
		fmt.Printf("\nTailor performance on this machine (%s)\n\n", time.Now().UTC().Format(time.RFC3339))
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MEASURE\tVALUE\tHOW")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.what, r.value, r.how)
		}
		tw.Flush()
	}
	// Last, so the ratios end the report.
	if compared != nil {
		printComparison(os.Stdout, compared)
	}
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
