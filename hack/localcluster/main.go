// Command localcluster starts Tailor's local cluster in the background:
// etcd, kube-apiserver, kube-controller-manager and kwok from bin/, and the
// EC2 simulator, `tailor scheduler` and `tailor launcher` from bin/tailor.
// Tailor is installed from its Helm chart, rendered with bin/helm: the
// chart's CRDs, ServiceAccounts, RBAC and scheduler ConfigMap are applied,
// and the two components run as processes configured as the chart's
// Deployments configure their pods, each impersonating its chart
// ServiceAccount, so the local cluster runs with the chart's permissions.
// The seed's default EC2NodeClass and NodePool are applied, an admin
// kubeconfig is at <dir>/kubeconfig and the SDK's environment at <dir>/env.
// The processes outlive it; their pids are in <dir>/pids for
// hack/local-down.sh. Every start is a fresh cluster.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tailor-project/tailor/test/chartrender"
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
	opts := controlplane.Options{Dir: abs, ControllerManager: true, Kwok: true, Detach: true}
	if *tailor {
		// The chart installs the CRDs, as it does on a real cluster.
		opts.CRDDir = "-"
	}
	cp, err := controlplane.Start(ctx, opts)
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

// startTailor runs the simulator, installs the chart's objects that need no
// pods (CRDs, ServiceAccounts, RBAC, the scheduler's ConfigMap), runs the
// scheduler and the launcher as the chart's Deployments would, each as its
// chart ServiceAccount, and applies the seed's EC2NodeClass and NodePool.
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
	queueURL := simURL + "/" + simulatedAcctID + "/" + queueName
	env := map[string]string{
		"KUBECONFIG":                cp.Kubeconfig,
		"AWS_ENDPOINT_URL":          simURL,
		"AWS_REGION":                region,
		"AWS_ACCESS_KEY_ID":         fakeAccessKey,
		"AWS_SECRET_ACCESS_KEY":     fakeSecretKey,
		"TAILOR_INTERRUPTION_QUEUE": queueURL,
	}
	if err := writeEnv(filepath.Join(cp.Dir, "env"), env); err != nil {
		return err
	}
	// The children get the chart's settings and nothing of the shell's, which
	// may hold a previous cluster's env file; only the simulator's fake
	// credentials are added, as IRSA or Pod Identity would add real ones.
	for _, k := range []string{"KUBECONFIG", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_SESSION_TOKEN"} {
		os.Unsetenv(k)
	}
	os.Setenv("AWS_ACCESS_KEY_ID", fakeAccessKey)
	os.Setenv("AWS_SECRET_ACCESS_KEY", fakeSecretKey)

	if err := cp.AddProcess("ec2sim", tailorBin, []string{
		"ec2sim", "--listen=127.0.0.1:" + strconv.Itoa(simPort), "--kubeconfig=" + cp.Kubeconfig,
		"--cluster-name=" + clusterName, "--boot-delay=" + bootDelay.String(), "--queue=" + queueName,
	}, true); err != nil {
		return err
	}
	if err := waitHTTP(ctx, http.DefaultClient, simURL+"/_sim/faults"); err != nil {
		return fmt.Errorf("the EC2 simulator did not come up: %w (see %s/ec2sim.log)", err, cp.Dir)
	}

	chart, err := chartrender.Render(ctx, chartrender.Options{IncludeCRDs: true, Set: []string{
		"settings.clusterName=" + clusterName,
		"settings.region=" + region,
		"settings.catalog.endpoint=" + simURL,
		"settings.interruptionQueue=" + queueURL,
	}})
	if err != nil {
		return err
	}
	if err := chart.Apply(ctx, cp.Config); err != nil {
		return err
	}
	if err := startScheduler(ctx, cp, chart, tailorBin, plain); err != nil {
		return err
	}
	if err := startLauncher(ctx, cp, chart, tailorBin); err != nil {
		return err
	}
	return applySeed(ctx, cp, root)
}

// startScheduler runs `tailor scheduler` with the chart's Deployment's
// arguments and ConfigMap, as the chart's ServiceAccount.
func startScheduler(ctx context.Context, cp *controlplane.ControlPlane, chart *chartrender.Chart, bin string, plain bool) error {
	kubeconfig := filepath.Join(cp.Dir, "scheduler.kubeconfig")
	if err := chartrender.WriteImpersonatingKubeconfig(cp.Kubeconfig, kubeconfig, chartrender.SchedulerName); err != nil {
		return err
	}
	config, err := chart.SchedulerConfig()
	if err != nil {
		return err
	}
	// Outside a pod there is no in-cluster configuration to connect with.
	// The rate limits are raised for make bench, whose bursts of thousands
	// of pods would otherwise measure the client's throttling.
	config["clientConnection"] = map[string]any{"kubeconfig": kubeconfig, "qps": 500, "burst": 1000}
	if plain {
		// The same scheduler without Tailor, to compare against.
		// Every profile of a scheduler must sort its queue alike, with the
		// same args, and Tailor's sorts gangs together (Coscheduling).
		profiles, _ := config["profiles"].([]any)
		plainProfile := map[string]any{"schedulerName": "plain-scheduler"}
		if len(profiles) > 0 {
			if first, ok := profiles[0].(map[string]any); ok {
				if plugins, ok := first["plugins"].(map[string]any); ok && plugins["queueSort"] != nil {
					plainProfile["plugins"] = map[string]any{"queueSort": plugins["queueSort"]}
				}
				// So must the queue sort plugin's args.
				configs, _ := first["pluginConfig"].([]any)
				for _, c := range configs {
					if pc, ok := c.(map[string]any); ok && pc["name"] == "Coscheduling" {
						plainProfile["pluginConfig"] = []any{pc}
					}
				}
			}
		}
		config["profiles"] = append(profiles, plainProfile)
	}
	data, err := yaml.Marshal(config)
	if err != nil {
		return fmt.Errorf("writing the scheduler's configuration: %w", err)
	}
	configPath := filepath.Join(cp.Dir, "scheduler.yaml")
	if err := os.WriteFile(configPath, data, 0o644); err != nil {
		return fmt.Errorf("writing the scheduler's configuration: %w", err)
	}
	container, err := chart.Container(chartrender.SchedulerName)
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	var args []string
	for _, a := range container.Args {
		if strings.HasPrefix(a, "--config=") {
			a = "--config=" + configPath
		}
		args = append(args, a)
	}
	// The secure port serves on loopback, and checks its callers through
	// the API server as the ServiceAccount, which a pod does with its
	// in-cluster configuration: the chart's delegation RBAC takes part.
	args = append(args, "--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(port),
		"--authentication-kubeconfig="+kubeconfig, "--authorization-kubeconfig="+kubeconfig)
	for k, v := range container.Env {
		os.Setenv(k, v)
	}
	if err := cp.AddProcess("scheduler", bin, args, true); err != nil {
		return err
	}
	// The scheduler's certificate is its own, made at start.
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if err := waitHTTP(ctx, insecure, "https://127.0.0.1:"+strconv.Itoa(port)+"/readyz"); err != nil {
		return fmt.Errorf("the scheduler did not become ready: %w (see %s/scheduler.log)", err, cp.Dir)
	}
	return nil
}

// startLauncher runs `tailor launcher` with the chart's Deployment's
// arguments and environment, as the chart's ServiceAccount.
func startLauncher(ctx context.Context, cp *controlplane.ControlPlane, chart *chartrender.Chart, bin string) error {
	kubeconfig := filepath.Join(cp.Dir, "launcher.kubeconfig")
	if err := chartrender.WriteImpersonatingKubeconfig(cp.Kubeconfig, kubeconfig, chartrender.LauncherName); err != nil {
		return err
	}
	container, err := chart.Container(chartrender.LauncherName)
	if err != nil {
		return err
	}
	probe, err := freePort()
	if err != nil {
		return err
	}
	// The pod's fixed ports would collide with another local cluster (make
	// bench runs one beside make demo's), and need not be reachable off
	// this machine; the later flag wins.
	args := append(container.Args, "--health-probe-bind-address=127.0.0.1:"+strconv.Itoa(probe), "--metrics-bind-address=0")
	for k, v := range container.Env {
		os.Setenv(k, v)
	}
	os.Setenv("KUBECONFIG", kubeconfig)
	defer os.Unsetenv("KUBECONFIG")
	if err := cp.AddProcess("launcher", bin, args, true); err != nil {
		return err
	}
	if err := waitHTTP(ctx, http.DefaultClient, "http://127.0.0.1:"+strconv.Itoa(probe)+"/readyz"); err != nil {
		return fmt.Errorf("the launcher did not become ready: %w (see %s/launcher.log)", err, cp.Dir)
	}
	return nil
}

func writeEnv(path string, env map[string]string) error {
	var b []byte
	for _, k := range []string{"KUBECONFIG", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "TAILOR_INTERRUPTION_QUEUE"} {
		b = append(b, fmt.Sprintf("export %s=%q\n", k, env[k])...)
	}
	return os.WriteFile(path, b, 0o644)
}

func waitHTTP(ctx context.Context, client *http.Client, url string) error {
	deadline := time.Now().Add(2 * time.Minute)
	client = &http.Client{Transport: client.Transport, Timeout: 2 * time.Second}
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
