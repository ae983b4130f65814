package e2e

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tailor-project/tailor/test/chartrender"
	"github.com/tailor-project/tailor/test/ec2sim"
)

// system is a test's Tailor run as it is deployed: `tailor launcher` and
// one or more `tailor scheduler` processes from bin/tailor against the
// env's cluster, each talking to the EC2 simulator through a proxy that
// counts its calls, and each authorized as the chart's ServiceAccount of
// its component, with the chart's RBAC, so that a permission the chart
// lacks fails the test. The test process holds only the cluster and the
// simulator, so killing a child is a crash of that component alone.
type system struct {
	*env
	// root is the test the children live as long as, whichever subtest
	// started them.
	root *testing.T
	bin  string
	// dir holds the children's logs and configurations.
	dir string
	// launcherAWS and schedulerAWS are the proxies the launcher and the
	// schedulers reach AWS through.
	launcherAWS, schedulerAWS *awsProxy
	// launcherKubeconfig and schedulerKubeconfig impersonate the chart's
	// ServiceAccounts of the two components.
	launcherKubeconfig, schedulerKubeconfig string
	sched                                   schedulerSettings
	// children are the running launcher ("launcher") and scheduler
	// replicas by name; starts counts the starts of each name, which
	// numbers its log files. Both are shared with the views of subtests.
	children map[string]*child
	starts   map[string]int
	// metrics are where each child serves /metrics, by name.
	metrics map[string]string
}

// schedulerSettings shape the schedulers' configuration.
type schedulerSettings struct {
	batchIdle, batchMax time.Duration
	// ha turns on kube-scheduler's leader election and the plugin's
	// disruption lease, both with short timings so that a killed leader is
	// replaced within seconds.
	ha bool
}

// HA timings: a lease a dead holder keeps for seconds, not the default 15.
const (
	leaseDuration = 4 * time.Second
	renewDeadline = 3 * time.Second
	retryPeriod   = time.Second
	// schedulerLease and disruptionLease are the Leases in kube-system
	// that the schedulers and their disruption loops compete for.
	schedulerLease  = schedulerName
	disruptionLease = "tailor-disruption"
)

// startSystem brings up the cluster, the launcher and, once every
// EC2NodeClass is Ready, a scheduler for each name in replicas.
func startSystem(t *testing.T, opts options, sched schedulerSettings, replicas ...string) *system {
	t.Helper()
	bin := tailorBinary(t)
	e := newEnv(t, opts)
	s := &system{
		env: e, root: t, bin: bin, dir: logDir(t), sched: sched,
		launcherAWS:  newAWSProxy(t, e.cluster.Endpoint),
		schedulerAWS: newAWSProxy(t, e.cluster.Endpoint),
		children:     map[string]*child{}, starts: map[string]int{}, metrics: map[string]string{},
	}
	s.installChart()
	// Registered before any child starts, so it runs after every child
	// stopped and its log is complete.
	t.Cleanup(s.noForbidden)
	s.startLauncher()
	s.classesReady()
	for _, name := range replicas {
		s.startScheduler(name)
	}
	return s
}

// installChart applies the chart's ServiceAccounts and RBAC (and its
// scheduler ConfigMap, unused) and writes the kubeconfigs the children
// impersonate those ServiceAccounts with. The cluster has the CRDs already:
// they are manifests/crds, which the chart's tests keep equal to its own.
func (s *system) installChart() {
	s.t.Helper()
	chart, err := chartrender.Render(s.ctx, chartrender.Options{Set: []string{"settings.clusterName=" + s.cluster.ClusterName}})
	if err != nil {
		s.t.Fatal(err)
	}
	if err := chart.Apply(s.ctx, s.cluster.Config); err != nil {
		s.t.Fatal(err)
	}
	s.launcherKubeconfig = filepath.Join(s.dir, "launcher.kubeconfig")
	s.schedulerKubeconfig = filepath.Join(s.dir, "scheduler.kubeconfig")
	for path, sa := range map[string]string{s.launcherKubeconfig: chartrender.LauncherName, s.schedulerKubeconfig: chartrender.SchedulerName} {
		if err := chartrender.WriteImpersonatingKubeconfig(s.cluster.Kubeconfig, path, sa); err != nil {
			s.t.Fatal(err)
		}
	}
}

// forbidden is how the API server refuses a ServiceAccount: the children
// log such a refusal and retry, so a missing permission would otherwise
// show only as slowness, or not at all when another path covers for it.
const forbidden = `is forbidden: User "system:serviceaccount:`

// noForbidden fails the test for every child's log, restarts' included,
// with a request the chart's RBAC refused.
func (s *system) noForbidden() {
	logs, err := filepath.Glob(filepath.Join(s.dir, "*.log"))
	if err != nil {
		s.root.Error(err)
		return
	}
	for _, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			s.root.Errorf("reading %s: %v", path, err)
			continue
		}
		var refused []string
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, forbidden) {
				refused = append(refused, "  "+line)
			}
		}
		if len(refused) > 0 {
			if len(refused) > 5 {
				refused = append(refused[:5], fmt.Sprintf("  ... and %d more", len(refused)-5))
			}
			s.root.Errorf("%s was refused by the chart's RBAC:\n%s", filepath.Base(path), strings.Join(refused, "\n"))
		}
	}
}

// awsEnv is the SDK's environment of a child: the simulator's fake
// credentials and region, and no instance metadata to look for.
func (s *system) awsEnv() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":         ec2sim.FakeAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     ec2sim.FakeSecretAccessKey,
		"AWS_REGION":                ec2sim.Region,
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}

// logName numbers the starts of a child, so a restart keeps the log of
// the process it replaces.
func (s *system) logName(name string) string {
	s.starts[name]++
	return fmt.Sprintf("%s.%d", name, s.starts[name])
}

// startLauncher runs `tailor launcher` as the chart's ServiceAccount, its
// flags from the environment as the chart's Deployment sets them, and
// waits until it is ready. Leader election is off, unlike the chart's: a
// restarted launcher must not wait out its dead predecessor's Lease.
func (s *system) startLauncher() {
	s.t.Helper()
	port, metricsPort := freePort(s.t), freePort(s.t)
	env := s.awsEnv()
	env["AWS_ENDPOINT_URL"] = s.launcherAWS.URL()
	env["CLUSTER_NAME"] = s.cluster.ClusterName
	env["KUBECONFIG"] = s.launcherKubeconfig
	c := startChild(s.root, s.bin, s.dir, s.logName(launcherName), env, "launcher",
		"--leader-elect=false", "--metrics-bind-address=127.0.0.1:"+strconv.Itoa(metricsPort), "--health-probe-bind-address=127.0.0.1:"+strconv.Itoa(port))
	s.children[launcherName] = c
	s.metrics[launcherName] = "http://127.0.0.1:" + strconv.Itoa(metricsPort) + "/metrics"
	s.waitHTTP(c, "http://127.0.0.1:"+strconv.Itoa(port)+"/readyz")
}

// startScheduler runs a `tailor scheduler` replica under name. Its secure
// port authenticates and authorizes callers through the API server as its
// ServiceAccount, as in the chart, where /metrics is scraped with a token.
func (s *system) startScheduler(name string) *child {
	s.t.Helper()
	config := filepath.Join(s.dir, name+".yaml")
	if err := os.WriteFile(config, []byte(s.schedulerConfig()), 0o644); err != nil {
		s.t.Fatal(err)
	}
	port := freePort(s.t)
	c := startChild(s.root, s.bin, s.dir, s.logName(name), s.awsEnv(), "scheduler",
		"--config="+config, "--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(port),
		"--authentication-kubeconfig="+s.schedulerKubeconfig, "--authorization-kubeconfig="+s.schedulerKubeconfig,
		"--v=2", "--logging-format=text")
	s.children[name] = c
	s.metrics[name] = "https://127.0.0.1:" + strconv.Itoa(port) + "/metrics"
	s.waitLog(c, "Tailor plugin ready to provision")
	return c
}

// schedulerConfig is manifests/scheduler/config.yaml for the test: the
// Tailor profile, the test's batch, the schedulers' proxy as the catalog's
// endpoint, and leader election as the settings say.
func (s *system) schedulerConfig() string {
	idle, max := s.sched.batchIdle, s.sched.batchMax
	if idle == 0 {
		idle = defaultBatchIdle
	}
	if max == 0 {
		max = 5 * time.Second
	}
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: 200
  burst: 400
`, s.schedulerKubeconfig)
	if s.sched.ha {
		fmt.Fprintf(&b, `leaderElection:
  leaderElect: true
  resourceLock: leases
  resourceNamespace: kube-system
  resourceName: %s
  leaseDuration: %s
  renewDeadline: %s
  retryPeriod: %s
`, schedulerLease, leaseDuration, renewDeadline, retryPeriod)
	} else {
		b.WriteString("leaderElection:\n  leaderElect: false\n")
	}
	fmt.Fprintf(&b, `profiles:
- schedulerName: %s
  plugins:
    multiPoint:
      enabled:
      - name: Coscheduling
      - name: Tailor
        weight: 100
    queueSort:
      enabled:
      - name: Coscheduling
      disabled:
      - name: "*"
  pluginConfig:
  - name: Coscheduling
    args:
      permitWaitingTimeSeconds: 300
  - name: Tailor
    args:
      clusterName: %s
      batchIdleDuration: %s
      batchMaxDuration: %s
      catalog:
        source: aws
        region: %s
        endpoint: %s
`, schedulerName, s.cluster.ClusterName, idle, max, ec2sim.Region, s.schedulerAWS.URL())
	if s.sched.ha {
		fmt.Fprintf(&b, `      disruptionLease:
        namespace: kube-system
        name: %s
        leaseDuration: %s
        renewDeadline: %s
        retryPeriod: %s
`, disruptionLease, leaseDuration, renewDeadline, retryPeriod)
	}
	return b.String()
}

// launcherName is the launcher's name among the children.
const launcherName = "launcher"

// kill kills a child with SIGKILL, as a crash would; it stays dead until
// started again. It may be called from any goroutine.
func (s *system) kill(name string) {
	c := s.children[name]
	c.kill()
	s.t.Logf("killed %s (pid %d)", name, c.pid())
}

// alive fails the test if a child ended that the test did not kill: one
// not started again since it was killed is not checked.
func (s *system) alive() {
	s.t.Helper()
	for name, c := range s.children {
		if c.exited() && !c.killed.Load() {
			s.t.Errorf("%s ended on its own: %s\n%s", name, c.state(), c.tail(40))
		}
	}
}

// waitHTTP waits until url answers 2xx, failing early if the child ends.
func (s *system) waitHTTP(c *child, url string) {
	s.t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second}
	s.eventually(c.name+" answers "+url, func() (bool, error) {
		if c.exited() {
			s.t.Fatalf("%s ended before it was ready: %s\n%s", c.name, c.state(), c.tail(40))
		}
		resp, err := hc.Get(url)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			return false, fmt.Errorf("%s answered %s", url, resp.Status)
		}
		return true, nil
	})
}

// waitLog waits until the child's log has a line with text, failing early
// if the child ends.
func (s *system) waitLog(c *child, text string) []string {
	s.t.Helper()
	var lines []string
	s.eventually(fmt.Sprintf("%s logs %q", c.name, text), func() (bool, error) {
		if c.exited() {
			s.t.Fatalf("%s ended: %s\n%s", c.name, c.state(), c.tail(40))
		}
		lines = c.linesWith(text)
		if len(lines) == 0 {
			return false, errors.New("not logged yet")
		}
		return true, nil
	})
	return lines
}

// lease reads a Lease of kube-system.
func (s *system) lease(name string) (*coordinationv1.Lease, error) {
	return s.kube.CoordinationV1().Leases(metav1.NamespaceSystem).Get(s.ctx, name, metav1.GetOptions{})
}

// holder is the holderIdentity of a Lease of kube-system, "" when none.
func (s *system) holder(name string) string {
	l, err := s.lease(name)
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// logDir is a directory for the children's logs and configurations. It
// is removed when the test passes and kept, and named, when it fails.
func logDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tailor-e2e-"+strings.ReplaceAll(t.Name(), "/", "-")+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the processes' logs are kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	return dir
}

// freePort is a loopback port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
