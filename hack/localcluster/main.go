// Command localcluster starts Tailor's local cluster in the background:
// etcd, kube-apiserver, kube-controller-manager and kwok from bin/, the EC2
// simulator, `tailor scheduler` and `tailor launcher` from bin/tailor, with
// the CRDs installed, the seed's default EC2NodeClass and NodePool applied,
// an admin kubeconfig at <dir>/kubeconfig and the SDK's environment at
// <dir>/env. The processes outlive it; their pids are in <dir>/pids for
// hack/local-down.sh. Every start is a fresh cluster.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/tailor-project/tailor/test/controlplane"
)

// The simulated account's fixed, fake credentials: the simulator checks no
// signature, so these are not secrets.
const (
	region          = "us-east-1"
	clusterName     = "my-cluster"
	fakeAccessKey   = "AKIAEC2SIMULATOR0000"
	fakeSecretKey   = "ec2sim-fake-secret-access-key"
	queueName       = "tailor-interruptions"
	simulatedAcctID = "123456789012"
)

func main() {
	dir := flag.String("dir", ".local", "directory for state, logs, pids, the kubeconfig and the env file")
	bootDelay := flag.Duration("boot-delay", 2*time.Second, "how long a simulated instance stays pending")
	tailor := flag.Bool("tailor", true, "also run the EC2 simulator, tailor scheduler and tailor launcher")
	plain := flag.Bool("plain-profile", false, "add a scheduler profile named plain-scheduler without Tailor, to compare against (make bench)")
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
	cp, err := controlplane.Start(ctx, controlplane.Options{Dir: abs, ControllerManager: true, Kwok: true, Detach: true})
	if err != nil {
		fail(err)
	}
	if *tailor {
		if err := startTailor(ctx, cp, *bootDelay, *plain); err != nil {
			fmt.Fprintln(os.Stderr, "localcluster:", err)
			fmt.Fprintln(os.Stderr, "stopping what started: hack/local-down.sh")
			_ = cp.Stop()
			os.Remove(filepath.Join(abs, "pids"))
			os.Exit(1)
		}
	}
	fmt.Printf("local cluster up at %s\n  source %s/env   # KUBECONFIG and the AWS SDK's variables for the simulator\n  logs: %s/*.log\n  stop: hack/local-down.sh\n", cp.Config.Host, abs, abs)
}

// startTailor runs the simulator, the scheduler and the launcher against the
// control plane, and applies the seed's EC2NodeClass and NodePool.
func startTailor(ctx context.Context, cp *controlplane.ControlPlane, bootDelay time.Duration, plain bool) error {
	root, err := controlplane.RepoRoot()
	if err != nil {
		return err
	}
	tailorBin := filepath.Join(root, "bin", "tailor")
	simPort, err := freePort()
	if err != nil {
		return err
	}
	simURL := "http://127.0.0.1:" + strconv.Itoa(simPort)
	env := map[string]string{
		"KUBECONFIG":                cp.Kubeconfig,
		"AWS_ENDPOINT_URL":          simURL,
		"AWS_REGION":                region,
		"AWS_ACCESS_KEY_ID":         fakeAccessKey,
		"AWS_SECRET_ACCESS_KEY":     fakeSecretKey,
		"TAILOR_INTERRUPTION_QUEUE": simURL + "/" + simulatedAcctID + "/" + queueName,
	}
	if err := writeEnv(filepath.Join(cp.Dir, "env"), env); err != nil {
		return err
	}
	// The children read the SDK's standard variables.
	for k, v := range env {
		os.Setenv(k, v)
	}
	if err := cp.AddProcess("ec2sim", tailorBin, []string{
		"ec2sim", "--listen=127.0.0.1:" + strconv.Itoa(simPort), "--kubeconfig=" + cp.Kubeconfig,
		"--cluster-name=" + clusterName, "--boot-delay=" + bootDelay.String(), "--queue=" + queueName,
	}, true); err != nil {
		return err
	}
	if err := waitHTTP(ctx, simURL+"/_sim/faults"); err != nil {
		return fmt.Errorf("the EC2 simulator did not come up: %w (see %s/ec2sim.log)", err, cp.Dir)
	}
	schedulerConfig := filepath.Join(cp.Dir, "scheduler.yaml")
	config := fmt.Sprintf(schedulerConfigTemplate, cp.Kubeconfig, clusterName, region, simURL)
	if plain {
		config += plainProfile
	}
	if err := os.WriteFile(schedulerConfig, []byte(config), 0o644); err != nil {
		return err
	}
	if err := cp.AddProcess("scheduler", tailorBin, []string{"scheduler", "--config=" + schedulerConfig, "--secure-port=0", "--v=2", "--logging-format=text"}, true); err != nil {
		return err
	}
	probe, err := freePort()
	if err != nil {
		return err
	}
	if err := cp.AddProcess("launcher", tailorBin, []string{
		"launcher", "--cluster-name=" + clusterName, "--kubeconfig=" + cp.Kubeconfig, "--leader-elect=false",
		"--health-probe-bind-address=127.0.0.1:" + strconv.Itoa(probe), "--metrics-bind-address=0",
		"--interruption-queue=" + env["TAILOR_INTERRUPTION_QUEUE"],
	}, true); err != nil {
		return err
	}
	if err := waitHTTP(ctx, "http://127.0.0.1:"+strconv.Itoa(probe)+"/readyz"); err != nil {
		return fmt.Errorf("the launcher did not become ready: %w (see %s/launcher.log)", err, cp.Dir)
	}
	return applySeed(ctx, cp, root)
}

// schedulerConfigTemplate is manifests/scheduler/config.yaml for the local
// cluster: no leader election, the simulator as the catalog's endpoint.
const schedulerConfigTemplate = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: 200
  burst: 400
leaderElection:
  leaderElect: false
profiles:
  - schedulerName: tailor-scheduler
    plugins:
      multiPoint:
        enabled:
          - name: Tailor
            weight: 100
    pluginConfig:
      - name: Tailor
        args:
          clusterName: %s
          catalog:
            source: aws
            region: %s
            endpoint: %s
`

// plainProfile is the same scheduler without Tailor, for comparisons.
const plainProfile = `  - schedulerName: plain-scheduler
`

func writeEnv(path string, env map[string]string) error {
	var b []byte
	for _, k := range []string{"KUBECONFIG", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "TAILOR_INTERRUPTION_QUEUE"} {
		b = append(b, fmt.Sprintf("export %s=%q\n", k, env[k])...)
	}
	return os.WriteFile(path, b, 0o644)
}

func waitHTTP(ctx context.Context, url string) error {
	deadline := time.Now().Add(2 * time.Minute)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("%s answered %s", url, resp.Status)
			}
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "localcluster:", err)
	os.Exit(1)
}
