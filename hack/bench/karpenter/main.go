// Command karpenter is Karpenter's side of Tailor's scheduling comparison
// (go run ./hack/bench -compare-only in the repository root runs both).
// It lives in a module of its own so that Tailor's go.mod never requires
// Karpenter. It writes the instance types it solves with to a file, so
// Tailor can solve with the same ones, and it times Karpenter's scheduler
// on pods read from a file, so both solve the same pod objects.
//
//	karpenter -types-out types.json
//	karpenter -pods pods.json -warmup 1 -runs 3 > samples.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"sigs.k8s.io/karpenter/pkg/cloudprovider/fake"
	"sigs.k8s.io/karpenter/pkg/operator/logging"
)

// karpenterVersion is the version go.mod requires; the types file names it.
const karpenterVersion = "v1.13.0"

func main() {
	typesOut := flag.String("types-out", "", "write the instance types to this file and exit")
	podsIn := flag.String("pods", "", "JSON list of v1.Pod to solve")
	warmup := flag.Int("warmup", 1, "untimed-in-the-report solves before the measured ones")
	runs := flag.Int("runs", 3, "measured solves, each with a fresh scheduler")
	flag.Parse()
	// As Karpenter's benchmark does: its scheduler logs every claim.
	log.SetLogger(logging.NopLogger)

	types := fake.InstanceTypes(instanceTypeCount)
	if *typesOut != "" {
		if err := writeTypes(*typesOut, types); err != nil {
			fail(err)
		}
		return
	}
	if *podsIn == "" {
		fail(fmt.Errorf("-pods or -types-out is required"))
	}
	pods, err := readPods(*podsIn)
	if err != nil {
		fail(err)
	}
	pool := benchPool()
	var samples []sample
	for i := 0; i < *warmup+*runs; i++ {
		s, _, err := solveOnce(pool, types, pods)
		if err != nil {
			fail(err)
		}
		if i >= *warmup {
			samples = append(samples, s)
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(samples); err != nil {
		fail(fmt.Errorf("writing the samples: %w", err))
	}
}

// readPods reads a JSON list of pods.
func readPods(path string) ([]*corev1.Pod, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the pods: %w", err)
	}
	var pods []*corev1.Pod
	if err := json.Unmarshal(data, &pods); err != nil {
		return nil, fmt.Errorf("decoding the pods in %s: %w", path, err)
	}
	return pods, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "karpenter bench:", err)
	os.Exit(1)
}
