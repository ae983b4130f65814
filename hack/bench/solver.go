package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// solverBenchmarks runs the solver's Go benchmarks, then the consolidation
// pass's, four times each, and reports the median of each measure over the
// runs after the first.
func solverBenchmarks(ctx context.Context) ([]row, error) {
	fmt.Println("running the solver benchmarks (go test -bench, 4 runs each)...")
	results, names, err := goBenchmarks(ctx, "-bench=BenchmarkScheduling|BenchmarkRealCatalog|BenchmarkLimitedPool", "./plugin/solver/")
	if err != nil {
		return nil, err
	}
	var rows []row
	for _, name := range names {
		m := results[name]
		// The first run of each size pays for warming up; the median of
		// the others is reported.
		workload := "like Karpenter's benchmark workload (400 synthetic types, on-demand only; the comparison below uses Karpenter's own)"
		what := "solver "
		switch {
		case strings.Contains(name, "RealCatalog"):
			workload = "the same pods, real catalog, seed basic NodePool"
		case strings.Contains(name, "LimitedPool"):
			workload = "the same pods, real catalog, seed basic NodePool with its limits (cpu 1000, memory 1000Gi)"
			what = "solver, pool limits, "
		}
		size := name[strings.LastIndex(name, "/")+1:]
		value := fmt.Sprintf("%.0f pods/s, %.0f ms, %.0f MB, %.0f nodes, $%.2f/h", median(m["pods/s"]), median(m["ns/op"])/1e6, median(m["B/op"])/1e6, median(m["nodes"]), median(m["$/h"]))
		if u, ok := m["unplaced"]; ok {
			value += fmt.Sprintf(", %.0f placed, %.0f unplaced", median(m["placed"]), median(u))
		}
		rows = append(rows, row{
			what:  what + size,
			value: value,
			how:   workload + "; go test -bench ./plugin/solver",
		})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no solver benchmark results")
	}

	fmt.Println("running the consolidation pass benchmark (go test -bench, 4 runs)...")
	results, _, err = goBenchmarks(ctx, "-bench=BenchmarkConsolidationPass", "./plugin/tailor/")
	if err != nil {
		return nil, err
	}
	m := results["BenchmarkConsolidationPass"]
	if m == nil {
		return nil, fmt.Errorf("no consolidation benchmark result")
	}
	rows = append(rows, row{
		what:  fmt.Sprintf("consolidation pass, %.0f nodes", median(m["nodes"])),
		value: fmt.Sprintf("%.2f s, %.0f MB, %.1fM allocs, %.0f plans", median(m["ns/op"])/1e9, median(m["B/op"])/1e6, median(m["allocs/op"])/1e6, median(m["plans/op"])),
		how:   fmt.Sprintf("every disruption method once over %.0f of Karpenter's diverse pods on running nodes; go test -bench ConsolidationPass ./plugin/tailor", median(m["pods"])),
	})
	return rows, nil
}

// goBenchmarks runs a package's benchmarks four times and returns, by
// benchmark name, each measure's values, with the names in order.
func goBenchmarks(ctx context.Context, bench, pkg string) (map[string]map[string][]float64, []string, error) {
	out, err := run(ctx, "go", "test", "-run=^$", bench, "-benchtime=1x", "-count=4", "-benchmem", pkg)
	if err != nil {
		return nil, nil, err
	}
	// name -> metric unit -> values
	results := map[string]map[string][]float64{}
	var names []string
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		// Without the GOMAXPROCS suffix.
		name := fields[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		if results[name] == nil {
			results[name] = map[string][]float64{}
			names = append(names, name)
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			results[name][fields[i+1]] = append(results[name][fields[i+1]], v)
		}
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("no benchmark results in:\n%s", lastLines(out, 20))
	}
	return results, names, nil
}

// median of the values after the first, which pays for warming up.
func median(vs []float64) float64 {
	if len(vs) > 1 {
		vs = vs[1:]
	}
	if len(vs) == 0 {
		return 0
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
