// Command demo runs the Karpenter guide's walkthrough on the local cluster
// (hack/local-up.sh must have started it): the inflate Deployment, with
// schedulerName: tailor-scheduler, scaled to 10 and then to 0. It narrates
// what a user would watch with kubectl — NodeClaims, nodes, pods, prices and
// how long each step took — and exits non-zero if a step does not finish.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	kubeconfig := flag.String("kubeconfig", ".local/kubeconfig", "kubeconfig of the local cluster")
	manifests := flag.String("manifests", "manifests/examples", "directory of the guide's manifests")
	replicas := flag.Int("replicas", 10, "how far to scale inflate up")
	timeout := flag.Duration("timeout", 5*time.Minute, "how long each step may take")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fail(fmt.Errorf("reading %s: %w (start the cluster with hack/local-up.sh)", *kubeconfig, err))
	}
	w, err := newWalkthrough(cfg, *manifests, *timeout)
	if err != nil {
		fail(err)
	}
	if err := w.run(ctx, int32(*replicas)); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "demo:", err)
	os.Exit(1)
}
