package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tailor-project/tailor/test/workload"
)

// karpenterDir is Karpenter's side of the comparison, a module of its own
// so that Tailor's go.mod never requires Karpenter.
const karpenterDir = "hack/bench/karpenter"

// comparison runs Karpenter's scheduler and Tailor's solver on the same
// pods and instance types, each side in a process of its own, and keeps
// the medians of each size.
type comparison struct {
	Warmup, Runs int
	KarpenterMod string
	BuildTime    time.Duration
	TypesSource  string
	Results      []sizeResult
	// Preference is Karpenter's preference workload, when run.
	Preference    *sizeResult
	Started       time.Time
	karpenterPath string
	typesPath     string
	dir           string
}

// sizeResult is one size's medians and its bound.
type sizeResult struct {
	Pods              int
	Karpenter, Tailor summary
	Bound             lpBound
}

// runComparison builds Karpenter's side, has it write its instance types,
// then solves every size on both sides.
func runComparison(ctx context.Context, sizes []int, preference, warmup, runs int) (*comparison, error) {
	if _, err := os.Stat(filepath.Join(karpenterDir, "go.mod")); err != nil {
		return nil, fmt.Errorf("run from the repository root: %w", err)
	}
	dir, err := os.MkdirTemp("", "tailor-compare-")
	if err != nil {
		return nil, fmt.Errorf("making a scratch directory: %w", err)
	}
	defer os.RemoveAll(dir)
	c := &comparison{Warmup: warmup, Runs: runs, Started: time.Now().UTC(), dir: dir,
		karpenterPath: filepath.Join(dir, "karpenter"), typesPath: filepath.Join(dir, "types.json")}

	fmt.Printf("building Karpenter's side (%s)...\n", karpenterDir)
	start := time.Now()
	if _, err := run(ctx, "go", "build", "-C", karpenterDir, "-o", c.karpenterPath, "."); err != nil {
		return nil, fmt.Errorf("building Karpenter's side: %w", err)
	}
	c.BuildTime = time.Since(start)
	if c.KarpenterMod, err = run(ctx, "go", "list", "-C", karpenterDir, "-m", "-f", "{{.Path}} {{.Version}}", "sigs.k8s.io/karpenter"); err != nil {
		return nil, fmt.Errorf("reading Karpenter's version: %w", err)
	}
	c.KarpenterMod = strings.TrimSpace(c.KarpenterMod)
	if _, err := run(ctx, c.karpenterPath, "-types-out", c.typesPath); err != nil {
		return nil, fmt.Errorf("writing Karpenter's instance types: %w", err)
	}
	types, err := readTypesFile(c.typesPath)
	if err != nil {
		return nil, err
	}
	c.TypesSource = types.Source
	catalogTypes := types.catalogTypes()

	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this program to run Tailor's side: %w", err)
	}
	both := func(name string, pods []*corev1.Pod) (sizeResult, error) {
		n := len(pods)
		podsPath := filepath.Join(dir, fmt.Sprintf("%s-%d.json", name, n))
		if err := writePodsFile(podsPath, pods); err != nil {
			return sizeResult{}, err
		}
		r := sizeResult{Pods: n}
		var err error
		if r.Bound, err = boundFor(pods, catalogTypes); err != nil {
			return r, fmt.Errorf("the LP bound for %d pods: %w", n, err)
		}
		counts := []string{"-warmup", strconv.Itoa(warmup), "-runs", strconv.Itoa(runs)}
		fmt.Printf("Karpenter, %d %s pods (%d warm-up + %d solves)...\n", n, name, warmup, runs)
		if r.Karpenter, err = sideSamples(ctx, c.karpenterPath, append([]string{"-pods", podsPath}, counts...)...); err != nil {
			return r, fmt.Errorf("karpenter, %d %s pods: %w", n, name, err)
		}
		fmt.Printf("Tailor, %d %s pods (%d warm-up + %d solves)...\n", n, name, warmup, runs)
		if r.Tailor, err = sideSamples(ctx, self, append([]string{"-tailor-side", "-pods", podsPath, "-types", c.typesPath}, counts...)...); err != nil {
			return r, fmt.Errorf("tailor, %d %s pods: %w", n, name, err)
		}
		return r, nil
	}
	for _, n := range sizes {
		r, err := both("diverse", workload.DiversePods(n))
		if err != nil {
			return nil, err
		}
		c.Results = append(c.Results, r)
	}
	if preference > 0 {
		r, err := both("preference", workload.PreferencePods(preference))
		if err != nil {
			return nil, err
		}
		c.Preference = &r
	}
	return c, nil
}

// sideSamples runs one side and summarizes the samples it prints.
func sideSamples(ctx context.Context, name string, args ...string) (summary, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return summary{}, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	var samples []sample
	if err := json.Unmarshal(stdout.Bytes(), &samples); err != nil {
		return summary{}, fmt.Errorf("decoding the samples of %s: %w", name, err)
	}
	if len(samples) == 0 {
		return summary{}, fmt.Errorf("%s measured no solve", name)
	}
	return summarize(samples), nil
}

// parseSizes reads -sizes: pod counts separated by commas.
func parseSizes(s string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil || n < 5 {
			return nil, fmt.Errorf("-sizes: %q is not a pod count of 5 or more", f)
		}
		sizes = append(sizes, n)
	}
	if len(sizes) == 0 {
		return nil, fmt.Errorf("-sizes: no size")
	}
	return sizes, nil
}
