package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// solverBenchmarks runs the solver's Go benchmarks three times each and
// reports the median of each measure.
func solverBenchmarks(ctx context.Context) ([]row, error) {
	fmt.Println("running the solver benchmarks (go test -bench, 3 runs each)...")
	out, err := run(ctx, "go", "test", "-run=^$", "-bench=BenchmarkScheduling|BenchmarkRealCatalog", "-benchtime=1x", "-count=4", "-benchmem", "./plugin/solver/")
	if err != nil {
		return nil, err
	}
	// name -> metric unit -> values
	results := map[string]map[string][]float64{}
	var names []string
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := strings.TrimSuffix(fields[0], "-2")
		if i := strings.LastIndex(name, "-"); i > 0 {
			name = name[:i]
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
	var rows []row
	for _, name := range names {
		m := results[name]
		// The first run of each size pays for warming up; the median of
		// the others is reported.
		workload := "Karpenter's benchmark workload (400 synthetic types)"
		if strings.Contains(name, "RealCatalog") {
			workload = "the same pods, real catalog, seed basic NodePool"
		}
		size := name[strings.LastIndex(name, "/")+1:]
		rows = append(rows, row{
			what:  "solver " + size,
			value: fmt.Sprintf("%.0f pods/s, %.0f ms, %.0f MB, %.0f nodes, $%.2f/h", median(m["pods/s"]), median(m["ns/op"])/1e6, median(m["B/op"])/1e6, median(m["nodes"]), median(m["$/h"])),
			how:   workload + "; go test -bench ./plugin/solver",
		})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no benchmark results in:\n%s", lastLines(out, 20))
	}
	return rows, nil
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
