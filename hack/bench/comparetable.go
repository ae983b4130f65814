package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
)

// printComparison writes the comparison: each side's medians by size with
// the LP bound, then the ratios, then how time grows with the batch.
func printComparison(w io.Writer, c *comparison) {
	fmt.Fprintf(w, "\nKarpenter's scheduler and Tailor's solver on the same pods and instance types (%s, %s)\n", c.Started.Format("2006-01-02 15:04 UTC"), machine())
	fmt.Fprintf(w, "pods: workload.DiversePods (Karpenter's makeDiversePods), one file both sides read; types: %s, written by Karpenter's side and read by Tailor's\n", c.TypesSource)
	fmt.Fprintf(w, "each side in its own process, a fresh scheduler per solve (built inside the timing), median of %d solves after %d warm-up; Karpenter: %s, its side built in %.1f s\n\n", c.Runs, c.Warmup, c.KarpenterMod, c.BuildTime.Seconds())
	printSides(w, c.Results)
	if len(c.Results) > 0 {
		b := c.Results[0].Bound
		fmt.Fprintf(w, "LP bound = max(Σcpu, Σmemory/2GiB, Σpods/10) × $%.10g/h, the cheapest price of 1 vCPU + 2 GiB + 10 pods (%s); capacity, not allocatable, so no plan can cost less\n", b.UnitPrice, b.Note)
	}

	fmt.Fprintln(w, "\nratios (Tailor / Karpenter, and each plan / the LP bound)")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "PODS\tTIME T/K\tBYTES T/K\tPRICE T/K\tTAILOR/LP\tKARPENTER/LP\t")
	for _, r := range c.Results {
		lp := r.Bound.Price()
		fmt.Fprintf(tw, "%d\t%.2f\t%.2f\t%.3f\t%.3f\t%.3f\t\n", r.Pods, r.Tailor.Seconds/r.Karpenter.Seconds, r.Tailor.Bytes/r.Karpenter.Bytes,
			r.Tailor.Price/r.Karpenter.Price, r.Tailor.Price/lp, r.Karpenter.Price/lp)
	}
	tw.Flush()
	if small, large, ok := growthSizes(c.Results); ok {
		fmt.Fprintf(w, "time growth %d/%d pods (×%.0f pods): Karpenter ×%.1f, Tailor ×%.1f\n", large.Pods, small.Pods, float64(large.Pods)/float64(small.Pods),
			large.Karpenter.Seconds/small.Karpenter.Seconds, large.Tailor.Seconds/small.Tailor.Seconds)
	}
	if r := c.Preference; r != nil {
		fmt.Fprintf(w, "\nKarpenter's preference workload (makePreferencePods: one zone preferred, zonal and hostname anti-affinity preferred), preferences respected on both sides\n")
		printSides(w, []sizeResult{*r})
		fmt.Fprintf(w, "time T/K %.2f, bytes T/K %.2f, price T/K %.3f\n", r.Tailor.Seconds/r.Karpenter.Seconds, r.Tailor.Bytes/r.Karpenter.Bytes, r.Tailor.Price/r.Karpenter.Price)
	}
}

// printSides writes each side's medians by size, with the LP bound.
func printSides(w io.Writer, results []sizeResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "PODS\tSOLVER\tTIME/SOLVE\tPODS/S\tMB/SOLVE\tNODES\tPLAN $/H\tUNPLACED\t")
	for _, r := range results {
		for _, side := range []struct {
			name string
			s    summary
		}{{"karpenter", r.Karpenter}, {"tailor", r.Tailor}} {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%.0f\t%.0f\t%.0f\t%.2f\t%.0f\t\n", r.Pods, side.name, seconds(side.s.Seconds),
				float64(r.Pods)/side.s.Seconds, side.s.Bytes/1e6, side.s.Nodes, side.s.Price, side.s.Unplaced)
		}
		fmt.Fprintf(tw, "%d\tLP bound\t\t\t\t\t%.2f\t\t\n", r.Pods, r.Bound.Price())
	}
	tw.Flush()
}

// growthSizes picks 5,000 and 20,000 pods when both ran, else the
// smallest and largest sizes.
func growthSizes(rs []sizeResult) (small, large sizeResult, ok bool) {
	if len(rs) < 2 {
		return small, large, false
	}
	small, large = rs[0], rs[0]
	for _, r := range rs {
		if r.Pods < small.Pods {
			small = r
		}
		if r.Pods > large.Pods {
			large = r
		}
	}
	var five, twenty *sizeResult
	for i := range rs {
		switch rs[i].Pods {
		case 5000:
			five = &rs[i]
		case 20000:
			twenty = &rs[i]
		}
	}
	if five != nil && twenty != nil {
		return *five, *twenty, true
	}
	return small, large, small.Pods != large.Pods
}

func seconds(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.0f ms", s*1e3)
	}
	return fmt.Sprintf("%.2f s", s)
}

// machine names the machine: OS, architecture, CPU count and model.
func machine() string {
	desc := fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				desc += ", " + strings.TrimSpace(v)
				break
			}
		}
	}
	return desc
}
