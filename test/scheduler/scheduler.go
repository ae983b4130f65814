// Package scheduler runs kube-scheduler in the test process, built from
// k8s.io/kubernetes/cmd/kube-scheduler/app exactly as `tailor scheduler` is,
// with a given configuration and plugins, so a test can stop and start it
// again (a scheduler restart) without linking a binary. kube-scheduler keeps
// some global state, so one scheduler runs in a process at a time.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/component-base/configz"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"
)

// Scheduler is a running in-process scheduler.
type Scheduler struct {
	cancel context.CancelFunc
	done   chan error
}

// Start runs a scheduler against the cluster of kubeconfig with the
// KubeSchedulerConfiguration config (YAML; its clientConnection is set to
// kubeconfig and leader election off) and the given out-of-tree plugins.
func Start(ctx context.Context, dir, kubeconfig, config string, plugins ...app.Option) (*Scheduler, error) {
	path := filepath.Join(dir, fmt.Sprintf("scheduler-%d.yaml", time.Now().UnixNano()))
	full := config + fmt.Sprintf("\nclientConnection:\n  kubeconfig: %q\n  qps: 200\n  burst: 400\n", kubeconfig)
	if err := os.WriteFile(path, []byte(full), 0o644); err != nil {
		return nil, fmt.Errorf("writing the scheduler configuration: %w", err)
	}
	opts := options.NewOptions()
	fs := pflag.NewFlagSet("scheduler", pflag.ContinueOnError)
	for _, f := range opts.Flags.FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse([]string{"--config=" + path, "--secure-port=0", "--leader-elect=false"}); err != nil {
		return nil, fmt.Errorf("scheduler flags: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	cc, sched, err := app.Setup(ctx, opts, plugins...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("setting up the scheduler: %w", err)
	}
	// kube-scheduler registers its configuration under a global name; a
	// scheduler started before in this process left it behind.
	configz.Delete("componentconfig")
	s := &Scheduler{cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- app.Run(ctx, cc, sched) }()
	return s, nil
}

// Stop ends the scheduler and waits for it.
func (s *Scheduler) Stop() error {
	s.cancel()
	select {
	case err := <-s.done:
		// Without leader election, app.Run reports the end of its context
		// as this error: it is the normal way out.
		if err != nil && !errors.Is(err, context.Canceled) && err.Error() != "finished without leader elect" {
			return fmt.Errorf("the scheduler ended with: %w", err)
		}
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("the scheduler did not stop within 30s")
	}
}
