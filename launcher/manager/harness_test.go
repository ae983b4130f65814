package manager_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	launcheraws "github.com/tailor-project/tailor/launcher/aws"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/launcher/manager"
	"github.com/tailor-project/tailor/launcher/tags"
	"github.com/tailor-project/tailor/test/controlplane"
	"github.com/tailor-project/tailor/test/ec2sim"
)

// clusterName is the simulated cluster every test's launcher serves.
const clusterName = "e2e"

// env is a test's world: a control plane with kube-controller-manager and
// kwok, an EC2 simulator whose instances join it, and SDK clients pointed
// at the simulator.
type env struct {
	t   *testing.T
	ctx context.Context
	// log writes to this test while it runs, and nowhere after.
	log     logr.Logger
	cp      *controlplane.ControlPlane
	sim     *ec2sim.Simulator
	kube    client.Client
	clients *kubernetes.Clientset
	aws     aws.Config
	ec2     *ec2.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	// First, so that its cleanup, which stops the logs reaching t, runs
	// after everything that logs has stopped.
	log := testLogs.logTo(t)
	cp := controlplane.StartT(t, controlplane.Options{ControllerManager: true, Kwok: true})
	sim, err := ec2sim.New(ec2sim.Options{
		ClusterName:   clusterName,
		KubeConfig:    cp.Config,
		BootDelay:     time.Second,
		ShutdownDelay: time.Second,
		Seed:          7,
		Log:           log.WithName("ec2sim"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Stop)
	scheme, err := manager.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	kube, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	cfg := aws.Config{
		Region:       ec2sim.Region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDE2E", "e2e-secret", ""),
		BaseEndpoint: aws.String(sim.URL()),
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &env{
		t: t, ctx: ctx, log: log, cp: cp, sim: sim, kube: kube, clients: kubernetes.NewForConfigOrDie(cp.Config),
		aws: cfg, ec2: ec2.NewFromConfig(cfg),
	}
}

// newCatalog is the catalog a launcher uses: EC2 and the Pricing API of the
// simulator, through the SDK.
func (e *env) newCatalog() *catalog.Provider {
	e.t.Helper()
	pricingClient := pricing.NewFromConfig(e.aws, func(o *pricing.Options) { o.Region = launcheraws.PricingRegion(e.aws.Region) })
	source, err := launcheraws.NewSource(e.ec2, pricingClient, launcheraws.Options{Region: e.aws.Region})
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := catalog.New(source, catalog.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// launcher is a running launcher; stop ends it as a killed process would
// end, without cleaning anything up.
type launcher struct {
	catalog *catalog.Provider
	cancel  context.CancelFunc
	// done is closed when the manager has returned err.
	done chan struct{}
	err  error
}

// launcherConfig adjusts what startLauncher runs.
type launcherConfig struct {
	ec2     *ec2.Client
	catalog *catalog.Provider
	cancel  func(context.CancelFunc)
}

// startLauncher runs a launcher against the env with short intervals, so
// that garbage collection happens within a test, and stops it at the end.
func (e *env) startLauncher(cfg launcherConfig) *launcher {
	e.t.Helper()
	if cfg.ec2 == nil {
		cfg.ec2 = e.ec2
	}
	if cfg.catalog == nil {
		cfg.catalog = e.newCatalog()
	}
	mgr, err := manager.New(e.cp.Config, manager.Options{
		ClusterName:                  clusterName,
		ClusterEndpoint:              e.cp.Config.Host,
		ClusterCABundle:              base64.StdEncoding.EncodeToString(e.cp.Config.CAData),
		Region:                       e.aws.Region,
		NotLaunchableBackoff:         time.Second,
		GarbageCollectionInterval:    time.Second,
		GarbageCollectionGracePeriod: 2 * time.Second,
		HealthProbeBindAddress:       "0",
		MetricsBindAddress:           "0",
		SeveralPerProcess:            true,
	}, manager.AWS{
		EC2:     cfg.ec2,
		SSM:     ssm.NewFromConfig(e.aws),
		IAM:     iam.NewFromConfig(e.aws),
		Catalog: cfg.catalog,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(klog.NewContext(e.ctx, e.log.WithName("launcher")))
	if cfg.cancel != nil {
		cfg.cancel(cancel)
	}
	l := &launcher{catalog: cfg.catalog, cancel: cancel, done: make(chan struct{})}
	go func() {
		l.err = mgr.Start(ctx)
		close(l.done)
	}()
	// Cancel, then wait for Start to return, before the test's later
	// cleanups (the simulator, the control plane, the logs) run.
	e.t.Cleanup(l.stop)
	return l
}

// stop ends the launcher and waits until its Start has returned.
func (l *launcher) stop() {
	l.cancel()
	<-l.done
}

// running fails the test if the launcher has stopped on its own.
func (e *env) running(l *launcher) {
	e.t.Helper()
	select {
	case <-l.done:
		e.t.Fatalf("the launcher stopped: %v", l.err)
	default:
	}
}

// eventually polls until cond holds, failing the test after a generous
// deadline: what is asserted is the condition, not how long it took.
func (e *env) eventually(what string, cond func() (bool, error)) {
	e.t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(e.ctx, 200*time.Millisecond, 3*time.Minute, true, func(context.Context) (bool, error) {
		ok, err := cond()
		last = err
		return ok, nil
	})
	if err != nil {
		e.t.Fatalf("waiting until %s: %v (last error: %v)", what, err, last)
	}
}

// nodeClass is a class that selects the simulated cluster's subnets and
// security group by the discovery tag, with the AL2023 alias.
func nodeClass(name string) *ec2v1.EC2NodeClass {
	discovery := map[string]string{"karpenter.sh/discovery": clusterName}
	return &ec2v1.EC2NodeClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: ec2v1.EC2NodeClassSpec{
			SubnetSelectorTerms:        []ec2v1.SubnetSelectorTerm{{Tags: discovery}},
			SecurityGroupSelectorTerms: []ec2v1.SecurityGroupSelectorTerm{{Tags: discovery}},
			AMISelectorTerms:           []ec2v1.AMISelectorTerm{{Alias: "al2023@latest"}},
			Role:                       "KarpenterNodeRole-" + clusterName,
			Tags:                       map[string]string{"team": "e2e"},
		},
	}
}

// nodeClaim is a claim of the pool "default" for a node of the class.
func nodeClaim(name, class string, reqs ...karpv1.NodeSelectorRequirementWithMinValues) *karpv1.NodeClaim {
	return &karpv1.NodeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{wellknown.NodePoolLabel: "default", "example.com/team": "e2e"}},
		Spec: karpv1.NodeClaimSpec{
			Requirements: reqs,
			Resources: karpv1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi"),
			}},
			NodeClassRef: &karpv1.NodeClassReference{Group: ec2v1.GroupVersion.Group, Kind: "EC2NodeClass", Name: class},
		},
	}
}

func requirement(key string, values ...string) karpv1.NodeSelectorRequirementWithMinValues {
	return karpv1.NodeSelectorRequirementWithMinValues{Key: key, Operator: corev1.NodeSelectorOpIn, Values: values}
}

func (e *env) create(objs ...client.Object) {
	e.t.Helper()
	for _, o := range objs {
		if err := e.kube.Create(e.ctx, o); err != nil {
			e.t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

// readyClass creates a class and waits until it is Ready.
func (e *env) readyClass(nc *ec2v1.EC2NodeClass) *ec2v1.EC2NodeClass {
	e.t.Helper()
	e.create(nc)
	e.eventually("EC2NodeClass "+nc.Name+" is Ready", func() (bool, error) {
		if err := e.kube.Get(e.ctx, client.ObjectKeyFromObject(nc), nc); err != nil {
			return false, err
		}
		return meta.IsStatusConditionTrue(nc.Status.Conditions, ec2v1.ConditionTypeReady), nil
	})
	return nc
}

// claimCondition waits until the claim's condition has the status.
func (e *env) claimCondition(claim *karpv1.NodeClaim, condType string, status metav1.ConditionStatus) *metav1.Condition {
	e.t.Helper()
	var found *metav1.Condition
	e.eventually(fmt.Sprintf("NodeClaim %s is %s=%s", claim.Name, condType, status), func() (bool, error) {
		if err := e.kube.Get(e.ctx, client.ObjectKeyFromObject(claim), claim); err != nil {
			return false, err
		}
		found = meta.FindStatusCondition(claim.Status.Conditions, condType)
		return found != nil && found.Status == status, nil
	})
	return found
}

// gone waits until the object no longer exists.
func (e *env) gone(o client.Object) {
	e.t.Helper()
	e.eventually(fmt.Sprintf("%T %s is gone", o, o.GetName()), func() (bool, error) {
		err := e.kube.Get(e.ctx, client.ObjectKeyFromObject(o), o)
		if client.IgnoreNotFound(err) != nil {
			return false, err
		}
		return err != nil, nil
	})
}

// instancesOf returns the instances EC2 knows tagged for a claim, in every
// state.
func (e *env) instancesOf(claim string) []ec2types.Instance {
	e.t.Helper()
	out, err := e.ec2.DescribeInstances(e.ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + tags.NodeClaim), Values: []string{claim}},
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	var all []ec2types.Instance
	for _, r := range out.Reservations {
		all = append(all, r.Instances...)
	}
	return all
}

// liveInstancesOf returns the instances of a claim that are not on their
// way out.
func (e *env) liveInstancesOf(claim string) []ec2types.Instance {
	var live []ec2types.Instance
	for _, inst := range e.instancesOf(claim) {
		switch inst.State.Name {
		case ec2types.InstanceStateNameShuttingDown, ec2types.InstanceStateNameTerminated:
		default:
			live = append(live, inst)
		}
	}
	return live
}

// instance describes one instance.
func (e *env) instance(id string) ec2types.Instance {
	e.t.Helper()
	out, err := e.ec2.DescribeInstances(e.ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		e.t.Fatalf("DescribeInstances %s: %d reservations", id, len(out.Reservations))
	}
	return out.Reservations[0].Instances[0]
}

// events returns the reasons of the events recorded about an object.
func (e *env) events(o client.Object) map[string]string {
	e.t.Helper()
	list, err := e.clients.CoreV1().Events("").List(e.ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + o.GetName()})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, ev := range list.Items {
		out[ev.Reason] = ev.Message
	}
	return out
}

// eventWith waits for an event of the reason about the object.
func (e *env) eventWith(o client.Object, reason string) string {
	e.t.Helper()
	var message string
	e.eventually(fmt.Sprintf("an event %s about %s", reason, o.GetName()), func() (bool, error) {
		m, ok := e.events(o)[reason]
		message = m
		return ok, nil
	})
	return message
}

// cheapest returns the cheapest available offering of the types, with its
// type's name; ties go to the type and zone first by name.
func cheapest(types []*catalog.InstanceType, capacityType string, fits func(*catalog.InstanceType) bool) (string, catalog.Offering, error) {
	var bestType string
	var best catalog.Offering
	for _, it := range types {
		if !fits(it) {
			continue
		}
		for _, o := range it.Offerings {
			if !o.Available || o.CapacityType != capacityType {
				continue
			}
			if bestType == "" || o.Price < best.Price || o.Price == best.Price && (it.Name < bestType || it.Name == bestType && o.Zone < best.Zone) {
				bestType, best = it.Name, o
			}
		}
	}
	if bestType == "" {
		return "", catalog.Offering{}, errors.New("no available offering")
	}
	return bestType, best, nil
}

func clientKey(o client.Object) client.ObjectKey {
	return client.ObjectKeyFromObject(o)
}
