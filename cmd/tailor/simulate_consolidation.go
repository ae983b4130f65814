package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/tailor-project/tailor/plugin/disruption"
	"github.com/tailor-project/tailor/plugin/tailor"
)

// consolidationOptions are the flags of `tailor simulate --consolidation`.
type consolidationOptions struct {
	enabled       bool
	kubeconfig    string
	assumeSettled optionalBool
	at            string
	minSavings    float64
	timeout       time.Duration
}

func (o *consolidationOptions) addFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.enabled, "consolidation", false, "dry-run the disruption loop's consolidation over a live cluster (--kubeconfig) or files (-f), and print what it would delete or replace and why it keeps every other node")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "with --consolidation and no -f: the kubeconfig of the cluster to read, read-only (default: $KUBECONFIG or ~/.kube/config)")
	fs.Var(&o.assumeSettled, "assume-settled", "with --consolidation: count every node as unchanged for its pool's consolidateAfter instead of reading the claims' Consolidatable condition (default true for files, which have no history; false for a live cluster)")
	fs.Lookup("assume-settled").NoOptDefVal = "true"
	fs.StringVar(&o.at, "at", "", "with --consolidation: judge budget schedules and consolidateAfter at this time (RFC 3339) instead of now")
	fs.Float64Var(&o.minSavings, "min-savings", 0.05, "with --consolidation: the scheduler's consolidation.minSavings")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "with --consolidation: give up after this long")
}

// optionalBool is a bool flag that knows whether it was given.
type optionalBool struct {
	set, value bool
}

func (b *optionalBool) String() string { return strconv.FormatBool(b.value) }
func (b *optionalBool) Type() string   { return "bool" }
func (b *optionalBool) IsBoolFlag() bool {
	return true
}

func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.set, b.value = true, v
	return nil
}

// consolidationReport is the JSON output.
type consolidationReport struct {
	*disruption.Explanation
	// Source is "files" or the live cluster's address.
	Source string `json:"source"`
	// SynthesizedNodeClaims were made up for nodes the files give none.
	SynthesizedNodeClaims []string `json:"synthesizedNodeClaims,omitempty"`
	AssumeSettled         bool     `json:"assumeSettled"`
	Prices                string   `json:"prices"`
}

func (o *simulateOptions) runConsolidation(ctx context.Context, stdout, stderr io.Writer) error {
	c := &o.consolidation
	if o.output != "table" && o.output != "json" {
		return fmt.Errorf("unknown output format %q: use table or json", o.output)
	}
	if len(o.files) > 0 && c.kubeconfig != "" {
		return errors.New("give either -f files or --kubeconfig, not both")
	}
	clk := clock.PassiveClock(clock.RealClock{})
	if c.at != "" {
		at, err := time.Parse(time.RFC3339, c.at)
		if err != nil {
			return fmt.Errorf("--at %q: %w", c.at, err)
		}
		clk = clocktesting.NewFakePassiveClock(at)
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.timeout, fmt.Errorf("gave up after --timeout %s", c.timeout))
		defer cancel()
	}

	report := consolidationReport{Source: "files", Prices: "compiled-in us-east-1 on-demand; spot at most that"}
	if o.online {
		report.Prices = "AWS"
	}
	var cl *cluster
	var err error
	if len(o.files) > 0 {
		cl, err = readClusterFiles(o.files, stderr)
		report.AssumeSettled = !c.assumeSettled.set || c.assumeSettled.value
	} else {
		cl, err = readLiveCluster(ctx, c.kubeconfig)
		report.AssumeSettled = c.assumeSettled.set && c.assumeSettled.value
	}
	if err != nil {
		return err
	}
	if cl.config != nil {
		report.Source = cl.config.Host
	}
	report.SynthesizedNodeClaims = cl.synthesized
	cat, err := o.catalog(ctx)
	if err != nil {
		return err
	}
	fw, err := tailor.DryRunFramework(ctx, cl.kube, cl.config)
	if err != nil {
		return err
	}
	args := &tailor.TailorArgs{}
	tailor.SetDefaults(args)
	args.Consolidation.MinSavings = &c.minSavings
	report.Explanation, err = tailor.ExplainConsolidation(ctx, tailor.DryRun{Handle: fw, Args: args, Catalog: cat, Objects: cl.objects, Clock: clk},
		disruption.ExplainOptions{AssumeSettled: report.AssumeSettled})
	if err != nil {
		return fmt.Errorf("explaining consolidation: %w", err)
	}
	if o.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	return printConsolidationTable(stdout, report)
}

func printConsolidationTable(w io.Writer, r consolidationReport) error {
	x := r.Explanation
	if len(x.Decisions) == 0 {
		fmt.Fprintln(w, "No decision: the disruption loop would keep every node.")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DECISION\tMETHOD\tNODECLAIMS\tNODES\tNEW INSTANCE TYPES\tZONES\tCAPACITY TYPES\t$/H BEFORE\t$/H AFTER")
		for _, d := range x.Decisions {
			types, zones, capacity := "-", "-", "-"
			if rep := d.Replacement; rep != nil {
				types, zones, capacity = firstAndMore(rep.InstanceTypes), orAny(rep.Zones), orAny(rep.CapacityTypes)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.4f\t%.4f\n", d.Kind, d.Method, strings.Join(d.NodeClaims, ", "), strings.Join(d.Nodes, ", "),
				types, zones, capacity, d.Before, d.After)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(x.Kept) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEPT\tNODEPOOL\tWHY")
		for _, k := range x.Kept {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", k.NodeClaim, orDash(k.NodePool), k.Why)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\nFleet: $%.4f/h now, $%.4f/h after these decisions", x.FleetPrice, x.FleetPriceAfter)
	if r.Prices != "AWS" {
		fmt.Fprint(w, " (compiled-in us-east-1 on-demand prices; spot priced at most that)")
	}
	fmt.Fprintln(w)
	var notes []string
	if len(r.SynthesizedNodeClaims) > 0 {
		notes = append(notes, fmt.Sprintf("The files give no NodeClaim for nodes %s: each got one named after it, from the node's labels.", strings.Join(r.SynthesizedNodeClaims, ", ")))
	}
	if r.AssumeSettled {
		notes = append(notes, "Every node counts as unchanged for its pool's consolidateAfter (--assume-settled).")
	} else {
		notes = append(notes, "Nodes count as settled as their claims' Consolidatable condition says.")
	}
	notes = append(notes, x.Notes...)
	unpriced := slices.Sorted(maps.Keys(x.Unpriced))
	for _, name := range unpriced {
		notes = append(notes, fmt.Sprintf("NodeClaim %s has no price, and is left out of the fleet's: %s", name, x.Unpriced[name]))
	}
	fmt.Fprintln(w)
	for _, n := range notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
	return nil
}

func firstAndMore(vs []string) string {
	if len(vs) == 0 {
		return "-"
	}
	if len(vs) == 1 {
		return vs[0]
	}
	return fmt.Sprintf("%s (+%d)", vs[0], len(vs)-1)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
