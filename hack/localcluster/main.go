// Command localcluster starts Tailor's local control plane in the background:
// etcd, kube-apiserver, kube-controller-manager and kwok from bin/, with the
// CRDs installed and an admin kubeconfig at <dir>/kubeconfig. Every start is
// a fresh cluster. The processes
// outlive it; their pids are in <dir>/pids for hack/local-down.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/tailor-project/tailor/test/controlplane"
)

func main() {
	dir := flag.String("dir", ".local", "directory for state, logs, pids and the kubeconfig")
	flag.Parse()
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fail(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "pids")); err == nil {
		fail(fmt.Errorf("%s/pids exists: a local cluster may be running; run hack/local-down.sh first", abs))
	}
	// Each local-up starts a fresh cluster: the old etcd data would hold
	// nodes and claims of instances that no longer exist.
	if err := os.RemoveAll(filepath.Join(abs, "etcd")); err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cp, err := controlplane.Start(ctx, controlplane.Options{
		Dir:               abs,
		ControllerManager: true,
		Kwok:              true,
		Detach:            true,
	})
	if err != nil {
		fail(err)
	}
	fmt.Printf("local cluster up at %s\n  export KUBECONFIG=%s\n  logs: %s/*.log\n  stop: hack/local-down.sh\n", cp.Config.Host, cp.Kubeconfig, abs)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "localcluster:", err)
	os.Exit(1)
}
