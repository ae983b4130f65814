package e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/scheduler-plugins/pkg/coscheduling"

	// The scheme of scheduler-plugins' args, so Coscheduling's pluginConfig decodes.
	_ "sigs.k8s.io/scheduler-plugins/apis/config/scheme"
	"sigs.k8s.io/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	launcheraws "github.com/tailor-project/tailor/launcher/aws"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/launcher/manager"
	"github.com/tailor-project/tailor/plugin/tailor"
	"github.com/tailor-project/tailor/test/cluster"
	"github.com/tailor-project/tailor/test/controlplane"
	"github.com/tailor-project/tailor/test/ec2sim"
	"github.com/tailor-project/tailor/test/scheduler"
)

const (
	// schedulerName is the profile that runs the Tailor plugin.
	schedulerName = "tailor-scheduler"
	// namespace holds every workload of the suites.
	namespace = metav1.NamespaceDefault
	// seedClass is the file of the seed's EC2NodeClass, which every test
	// applies: the simulated VPC carries the discovery tags it selects by.
	seedClass = "03-ec2nodeclass-complete.yaml"

	// bootDelay is how long a simulated instance stays pending, in
	// simulated time.
	bootDelay = time.Second
	// clockScale runs the simulated clock faster than real time, so boots
	// and shutdowns take a fraction of bootDelay. It stays low enough that
	// the simulated spot market, which moves once per simulated hour, holds
	// still for the length of a test.
	clockScale = 4
	// defaultBatchIdle closes the plugin's batches soon after the last pod.
	defaultBatchIdle = 300 * time.Millisecond
	// notLaunchableBackoff is how long the launcher keeps a claim EC2
	// refused before deleting it: short, so that a fallback away from
	// unavailable capacity takes seconds, not rounds of ten.
	notLaunchableBackoff = time.Second

	// waitTimeout bounds every wait. It is generous on purpose: what the
	// suites assert is that a state is reached, never how fast.
	waitTimeout  = 2 * time.Minute
	pollInterval = 250 * time.Millisecond
)

// options shape the world of one test.
type options struct {
	// files are seed manifests (manifests/examples) applied after the
	// seed's EC2NodeClass, in order.
	files []string
	// classes are copies of the seed's EC2NodeClass under these names, for
	// pools that reference classes the seed does not define.
	classes []string
	// faults are injected by the simulator from its start.
	faults ec2sim.Faults
	// registrationTTL is the launcher's; its default (15 minutes) when zero.
	registrationTTL time.Duration
	// batchIdle is the plugin's batchIdleDuration; defaultBatchIdle when
	// zero.
	batchIdle time.Duration
	// nodeClassRefresh is how often the launcher resolves classes again;
	// its default (5 minutes) when zero.
	nodeClassRefresh time.Duration
	// launcherClock is the launcher's clock; the real one when nil.
	launcherClock clock.WithTicker
	// disruptionClock is the scheduler's disruption loop's clock; the real
	// one when nil.
	disruptionClock clock.PassiveClock
	// clockScale is the simulated clock's speed; the clockScale constant
	// when zero.
	clockScale float64
	// healthProbeAddr is where the launcher serves /healthz and /readyz;
	// nowhere when empty.
	healthProbeAddr string
}

// env is one test's running system.
type env struct {
	t       *testing.T
	ctx     context.Context
	opts    options
	cluster *cluster.Cluster
	client  client.Client
	kube    kubernetes.Interface
	// examples is the directory of the seed's manifests.
	examples string
	// procs is shared by the env of the test and those of its subtests,
	// so that a subtest's restart is what the test's cleanup stops.
	procs *procs
}

// procs are the parts of the system that run in this process.
type procs struct {
	sched    *scheduler.Scheduler
	launcher *launcherRun
	// throttled counts the launcher's AWS calls refused with
	// RequestLimitExceeded, before the SDK's retries.
	throttled atomic.Int64
}

// countingClient counts the responses that refuse a call for the request
// rate: the simulator answers them, and only them, 503.
type countingClient struct {
	next      aws.HTTPClient
	throttled *atomic.Int64
}

func (c countingClient) Do(r *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(r)
	if err == nil && resp.StatusCode == http.StatusServiceUnavailable {
		c.throttled.Add(1)
	}
	return resp, err
}

// launcherRun is a launcher running in this process.
type launcherRun struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// setLoggers sends controller-runtime's logs where the launcher binary
// sends them, to klog, like the scheduler's. It is global and set once: a
// logger bound to one test's *testing.T would outlive that test.
var setLoggers = sync.OnceFunc(func() { ctrl.SetLogger(klog.NewKlogr()) })

// start brings up a test's system: the cluster, the seed's EC2NodeClass and
// the files of opts, the launcher, and, once every EC2NodeClass is Ready,
// the scheduler. Cleanups stop them in reverse order.
func start(t *testing.T, opts options) *env {
	t.Helper()
	e := newEnv(t, opts)
	e.startLauncher()
	t.Cleanup(e.stopLauncher)
	e.classesReady()
	e.startScheduler()
	t.Cleanup(e.stopScheduler)
	return e
}

// newEnv brings up a test's world without Tailor in it: the cluster, the
// SDK's environment, the seed's EC2NodeClass and the files of opts.
func newEnv(t *testing.T, opts options) *env {
	t.Helper()
	setLoggers()
	c := cluster.Start(t, cluster.Options{Simulator: ec2sim.Options{
		BootDelay:     bootDelay,
		ShutdownDelay: time.Second,
		ClockScale:    cmp.Or(opts.clockScale, clockScale),
		Faults:        opts.faults,
		// Fixed, so that a failure replays the same throttling decisions.
		Seed: 6,
	}})
	scheme, err := tailor.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(c.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &env{
		t: t, ctx: ctx, opts: opts, cluster: c, client: cl, kube: kubernetes.NewForConfigOrDie(c.Config),
		examples: filepath.Join(root, "manifests", "examples"), procs: &procs{},
	}
	// The plugin builds its catalog from the SDK's standard configuration,
	// as `tailor scheduler` does; the endpoint comes from its args.
	t.Setenv("AWS_ACCESS_KEY_ID", ec2sim.FakeAccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", ec2sim.FakeSecretAccessKey)
	t.Setenv("AWS_REGION", ec2sim.Region)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	e.apply(seedClass)
	for _, name := range opts.classes {
		e.copyClass(name)
	}
	for _, f := range opts.files {
		e.apply(f)
	}
	return e
}

// forT is the env seen from a subtest: failures are the subtest's.
func (e *env) forT(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// schedulerConfig is manifests/scheduler/config.yaml for a test: the Tailor
// profile, a short batch, and the simulator as the catalog's endpoint.
const schedulerConfig = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
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
      batchMaxDuration: 5s
      catalog:
        source: aws
        region: %s
        endpoint: %s
`

func (e *env) startScheduler() {
	e.t.Helper()
	idle := e.opts.batchIdle
	if idle == 0 {
		idle = defaultBatchIdle
	}
	c := e.cluster
	config := fmt.Sprintf(schedulerConfig, schedulerName, c.ClusterName, idle, ec2sim.Region, c.Endpoint)
	factory := tailor.New
	if e.opts.disruptionClock != nil {
		factory = tailor.Factory(tailor.WithClock(e.opts.disruptionClock))
	}
	s, err := scheduler.Start(e.ctx, c.ControlPlane.Dir, c.Kubeconfig, config, app.WithPlugin(tailor.Name, factory),
		app.WithPlugin(coscheduling.Name, coscheduling.New))
	if err != nil {
		e.t.Fatalf("starting the scheduler: %v", err)
	}
	e.procs.sched = s
}

func (e *env) stopScheduler() {
	if e.procs.sched == nil {
		return
	}
	if err := e.procs.sched.Stop(); err != nil {
		e.t.Error(err)
	}
	e.procs.sched = nil
}

// startLauncher runs the launcher as `tailor launcher` wires it, with the
// cluster's SDK configuration (its HTTP client is safe on loopback), whose
// HTTP client also counts the calls refused for the request rate. Claims
// EC2 refuses are given up after a second; garbage collection keeps its
// production interval, so that no test relies on it to clean up after the
// lifecycle.
func (e *env) startLauncher() {
	e.t.Helper()
	c := e.cluster
	cfg := c.AWS.Copy()
	cfg.HTTPClient = countingClient{next: cfg.HTTPClient, throttled: &e.procs.throttled}
	ec2Client, pricingClient := launcheraws.NewClients(cfg, launcheraws.Endpoints{})
	source, err := launcheraws.NewSource(ec2Client, pricingClient, launcheraws.Options{Region: cfg.Region})
	if err != nil {
		e.t.Fatal(err)
	}
	cat, err := catalog.New(source, catalog.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	mgr, err := manager.New(c.Config, manager.Options{
		ClusterName:            c.ClusterName,
		ClusterEndpoint:        c.Config.Host,
		ClusterCABundle:        base64.StdEncoding.EncodeToString(c.Config.CAData),
		Region:                 cfg.Region,
		RegistrationTTL:        e.opts.registrationTTL,
		NotLaunchableBackoff:   notLaunchableBackoff,
		HealthProbeBindAddress: cmp.Or(e.opts.healthProbeAddr, "0"),
		MetricsBindAddress:     "0",
		SeveralPerProcess:      true,
		// By name, as a deployment names it, resolved with GetQueueUrl.
		InterruptionQueue: cluster.DefaultQueueName,

		NodeClassRefreshInterval: e.opts.nodeClassRefresh,
		Clock:                    e.opts.launcherClock,
	}, manager.AWS{EC2: ec2Client, SSM: ssm.NewFromConfig(cfg), IAM: iam.NewFromConfig(cfg), Catalog: cat, SQS: sqs.NewFromConfig(cfg)})
	if err != nil {
		e.t.Fatalf("building the launcher: %v", err)
	}
	ctx, cancel := context.WithCancel(klog.NewContext(e.ctx, klog.Background().WithName("launcher")))
	l := &launcherRun{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.err = mgr.Start(ctx)
	}()
	e.procs.launcher = l
}

func (e *env) stopLauncher() {
	l := e.procs.launcher
	if l == nil {
		return
	}
	l.cancel()
	<-l.done
	if l.err != nil {
		e.t.Errorf("the launcher ended with: %v", l.err)
	}
	e.procs.launcher = nil
}

// restart stops the scheduler and the launcher and starts them again, so a
// scenario starts without what the last one taught them (offerings they
// saw refused, reservations).
func (e *env) restart() {
	e.t.Helper()
	e.stopScheduler()
	e.stopLauncher()
	e.startLauncher()
	e.startScheduler()
}

// readExample returns a seed manifest.
func (e *env) readExample(file string) []byte {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(e.examples, file))
	if err != nil {
		e.t.Fatal(err)
	}
	return data
}

// apply creates every object of a seed manifest, unchanged.
func (e *env) apply(file string) {
	e.t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(e.readExample(file)), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			e.t.Fatalf("%s: %v", file, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		if err := e.client.Create(e.ctx, u); err != nil {
			e.t.Fatalf("applying %s %s from %s: %v", u.GetKind(), u.GetName(), file, err)
		}
	}
}

// copyClass creates the seed's EC2NodeClass under another name.
func (e *env) copyClass(name string) {
	e.t.Helper()
	nc := &ec2v1.EC2NodeClass{}
	if err := yaml.UnmarshalStrict(e.readExample(seedClass), nc); err != nil {
		e.t.Fatal(err)
	}
	nc.Name = name
	if err := e.client.Create(e.ctx, nc); err != nil {
		e.t.Fatalf("creating EC2NodeClass %s: %v", name, err)
	}
}

// classesReady waits until the launcher has resolved every EC2NodeClass:
// before that the catalog does not know the zones of its subnets.
func (e *env) classesReady() {
	e.t.Helper()
	e.eventually("every EC2NodeClass is Ready", func() (bool, error) {
		var list ec2v1.EC2NodeClassList
		if err := e.client.List(e.ctx, &list); err != nil {
			return false, err
		}
		for _, nc := range list.Items {
			if !meta.IsStatusConditionTrue(nc.Status.Conditions, ec2v1.ConditionTypeReady) {
				return false, fmt.Errorf("EC2NodeClass %s is not Ready: %v", nc.Name, nc.Status.Conditions)
			}
		}
		return true, nil
	})
}

// eventually polls cond until it holds. cond returns false with an error
// that says what is still missing; the last one is reported, with a dump of
// the cluster, if the condition is not reached in waitTimeout.
func (e *env) eventually(what string, cond func() (bool, error)) {
	e.t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(e.ctx, pollInterval, waitTimeout, true, func(context.Context) (bool, error) {
		ok, err := cond()
		last = err
		return ok && err == nil, nil
	})
	if err != nil {
		e.t.Fatalf("waiting until %s: %v\nlast seen: %v\n%s", what, err, last, e.dump())
	}
}

// deployment is a Deployment of pause pods for the Tailor scheduler, each
// requesting cpu and 1Gi, labelled app=name.
func deployment(name string, replicas int32, cpu string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					SchedulerName: schedulerName,
					Containers: []corev1.Container{{
						Name: "pause", Image: "public.ecr.aws/eks-distro/kubernetes/pause:3.7",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("1Gi"),
						}},
					}},
				},
			},
		},
	}
}

// create creates objects, failing the test on the first error.
func (e *env) create(objs ...client.Object) {
	e.t.Helper()
	for _, o := range objs {
		if err := e.client.Create(e.ctx, o); err != nil {
			e.t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

// scale sets a Deployment's replicas, as kubectl scale does.
func (e *env) scale(name string, replicas int32) {
	e.t.Helper()
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
	if _, err := e.kube.AppsV1().Deployments(namespace).Patch(e.ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		e.t.Fatalf("scaling %s to %d: %v", name, replicas, err)
	}
}

// pods lists the pods labelled app=name that are not being deleted.
func (e *env) pods(app string) ([]corev1.Pod, error) {
	list, err := e.kube.CoreV1().Pods(namespace).List(e.ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// running waits until exactly n pods labelled app=name exist and all of
// them run, and returns them.
func (e *env) running(app string, n int) []corev1.Pod {
	e.t.Helper()
	var pods []corev1.Pod
	e.eventually(fmt.Sprintf("%d pods of %s are Running", n, app), func() (bool, error) {
		var err error
		if pods, err = e.pods(app); err != nil {
			return false, err
		}
		running := 0
		for _, p := range pods {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		if len(pods) != n || running != n {
			return false, fmt.Errorf("%d pods, %d Running", len(pods), running)
		}
		return true, nil
	})
	return pods
}

// nodesOf returns the nodes the pods run on, by name.
func (e *env) nodesOf(pods []corev1.Pod) map[string]*corev1.Node {
	e.t.Helper()
	out := map[string]*corev1.Node{}
	for _, p := range pods {
		if p.Spec.NodeName == "" || out[p.Spec.NodeName] != nil {
			continue
		}
		n, err := e.kube.CoreV1().Nodes().Get(e.ctx, p.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			e.t.Fatalf("reading node %s of pod %s: %v", p.Spec.NodeName, p.Name, err)
		}
		out[n.Name] = n
	}
	return out
}

// deleteWorkload deletes a Deployment and waits until its pods are gone.
func (e *env) deleteWorkload(name string) {
	e.t.Helper()
	propagation := metav1.DeletePropagationForeground
	if err := e.kube.AppsV1().Deployments(namespace).Delete(e.ctx, name, metav1.DeleteOptions{PropagationPolicy: &propagation}); err != nil {
		e.t.Fatalf("deleting Deployment %s: %v", name, err)
	}
	e.eventually("the pods of "+name+" are gone", func() (bool, error) {
		list, err := e.kube.CoreV1().Pods(namespace).List(e.ctx, metav1.ListOptions{LabelSelector: "app=" + name})
		if err != nil {
			return false, err
		}
		if len(list.Items) > 0 {
			return false, fmt.Errorf("%d pods left", len(list.Items))
		}
		return true, nil
	})
}
