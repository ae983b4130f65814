package tailor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/plugin/reservation"
	"github.com/tailor-project/tailor/plugin/tailor"
	"github.com/tailor-project/tailor/test/controlplane"
	"github.com/tailor-project/tailor/test/scheduler"
)

const schedulerName = "tailor-scheduler"

// schedulerConfig runs the Tailor profile over the compiled-in catalog of
// three zones, with a short batch so tests do not wait.
const schedulerConfig = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
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
      clusterName: my-cluster
      batchIdleDuration: 500ms
      batchMaxDuration: 5s
      catalog:
        source: static
        zones: [us-east-1a, us-east-1b, us-east-1c]
`

var zones = []catalog.Zone{{Name: "us-east-1a"}, {Name: "us-east-1b"}, {Name: "us-east-1c"}}

// env is a real API server with the CRDs, the seed's EC2NodeClass, and an
// in-process scheduler running the Tailor plugin. The test plays the
// launcher where it needs nodes.
type env struct {
	t       *testing.T
	ctx     context.Context
	cp      *controlplane.ControlPlane
	client  client.Client
	kube    kubernetes.Interface
	sched   *scheduler.Scheduler
	catalog catalog.Catalog
	// config is the scheduler's configuration, for restarts too.
	config string
	// nodeStatus, when set, changes the status of each node launch makes:
	// a node that comes up with less than its type promises.
	nodeStatus func(*corev1.NodeStatus)
}

func newEnv(t *testing.T, poolFiles ...string) *env {
	t.Helper()
	return newEnvWith(t, schedulerConfig, poolFiles...)
}

// newEnvWith is newEnv with another scheduler configuration.
func newEnvWith(t *testing.T, config string, poolFiles ...string) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cp := controlplane.StartT(t, controlplane.Options{})
	scheme, err := tailor.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New(catalog.NewStaticSource(zones), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, cp: cp, client: c, kube: kubernetes.NewForConfigOrDie(cp.Config), catalog: cat, config: config}
	e.apply("03-ec2nodeclass-complete.yaml")
	for _, f := range poolFiles {
		e.apply(f)
	}
	e.startScheduler()
	t.Cleanup(func() { e.stopScheduler() })
	return e
}

func (e *env) startScheduler() {
	e.t.Helper()
	s, err := scheduler.Start(e.ctx, e.cp.Dir, e.cp.Kubeconfig, e.config, app.WithPlugin(tailor.Name, tailor.New))
	if err != nil {
		e.t.Fatal(err)
	}
	e.sched = s
}

func (e *env) stopScheduler() {
	if e.sched == nil {
		return
	}
	if err := e.sched.Stop(); err != nil {
		e.t.Error(err)
	}
	e.sched = nil
}

// apply creates every object of a testdata manifest.
func (e *env) apply(file string) {
	e.t.Helper()
	data, err := os.ReadFile("testdata/" + file)
	if err != nil {
		e.t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			e.t.Fatal(err)
		}
		if len(u.Object) == 0 || u.GetKind() == "Deployment" {
			continue
		}
		if err := e.client.Create(e.ctx, u); err != nil {
			e.t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

func (e *env) nodePool(name string) *karpv1.NodePool {
	np := &karpv1.NodePool{}
	if err := e.client.Get(e.ctx, client.ObjectKey{Name: name}, np); err != nil {
		e.t.Fatal(err)
	}
	return np
}

// pods creates n pods of the inflate template (1 CPU, 1 GiB) for the
// Tailor profile, each changed by mutate.
func (e *env) pods(prefix string, n int, cpu string, mutate ...func(*corev1.Pod)) []*corev1.Pod {
	e.t.Helper()
	var out []*corev1.Pod
	for i := 0; i < n; i++ {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", prefix, i), Namespace: "default", Labels: map[string]string{"app": prefix}},
			Spec: corev1.PodSpec{
				SchedulerName: schedulerName,
				Containers: []corev1.Container{{Name: "inflate", Image: "public.ecr.aws/eks-distro/kubernetes/pause:3.7",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("1Gi")}}}},
			},
		}
		for _, m := range mutate {
			m(p)
		}
		created, err := e.kube.CoreV1().Pods("default").Create(e.ctx, p, metav1.CreateOptions{})
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, created)
	}
	return out
}

// claimsFor waits until every pod is recorded on exactly one NodeClaim and
// returns the claims.
func (e *env) claimsFor(pods []*corev1.Pod) []karpv1.NodeClaim {
	e.t.Helper()
	var claims []karpv1.NodeClaim
	err := wait.PollUntilContextTimeout(e.ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var list karpv1.NodeClaimList
		if err := e.client.List(ctx, &list); err != nil {
			return false, err
		}
		seen := map[string]int{}
		for _, nc := range list.Items {
			recorded, err := reservation.Decode(nc.Annotations[reservation.Annotation])
			if err != nil {
				return false, err
			}
			for _, r := range recorded {
				seen[string(r.UID)]++
			}
		}
		for _, p := range pods {
			if seen[string(p.UID)] != 1 {
				return false, nil
			}
		}
		claims = list.Items
		return true, nil
	})
	if err != nil {
		e.t.Fatalf("waiting for NodeClaims for %d pods: %v", len(pods), err)
	}
	sort.Slice(claims, func(i, j int) bool { return claims[i].Name < claims[j].Name })
	return claims
}

// launch does what the launcher does for a claim, with its cheapest type in
// its first allowed zone: a Ready node, and the claim linked to it.
func (e *env) launch(nc *karpv1.NodeClaim, extraTaints ...corev1.Taint) *corev1.Node {
	e.t.Helper()
	types := requirementValues(nc, wellknown.InstanceTypeLabel)
	zone := requirementValues(nc, wellknown.ZoneLabel)[0]
	capacityType := requirementValues(nc, wellknown.CapacityTypeLabel)[0]
	np := e.nodePool(nc.Labels[wellknown.NodePoolLabel])
	class := &ec2v1.EC2NodeClass{}
	if err := e.client.Get(e.ctx, client.ObjectKey{Name: np.Spec.Template.Spec.NodeClassRef.Name}, class); err != nil {
		e.t.Fatal(err)
	}
	all, err := e.catalog.InstanceTypes(e.ctx, np, class)
	if err != nil {
		e.t.Fatal(err)
	}
	var it *catalog.InstanceType
	for _, candidate := range all {
		if candidate.Name == types[0] {
			it = candidate
		}
	}
	if it == nil {
		e.t.Fatalf("claim %s names type %s the catalog does not have", nc.Name, types[0])
	}
	labels := map[string]string{}
	for k, v := range nc.Labels {
		labels[k] = v
	}
	for k, v := range it.Labels {
		labels[k] = v
	}
	labels[wellknown.ZoneLabel] = zone
	labels[wellknown.CapacityTypeLabel] = capacityType
	labels[wellknown.HostnameLabel] = nc.Name
	// As the launcher does: the claim knows its instance before the node
	// registers.
	providerID := "aws:///" + zone + "/i-" + nc.Name
	nc.Status.ProviderID = providerID
	meta.SetStatusCondition(&nc.Status.Conditions, metav1.Condition{Type: karpv1.ConditionTypeLaunched, Status: metav1.ConditionTrue, Reason: "Launched", Message: "test launcher"})
	if err := e.client.Status().Update(e.ctx, nc); err != nil {
		e.t.Fatal(err)
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: nc.Name, Labels: labels},
		Spec:       corev1.NodeSpec{ProviderID: providerID, Taints: append(append([]corev1.Taint{}, nc.Spec.Taints...), extraTaints...)},
	}
	created, err := e.kube.CoreV1().Nodes().Create(e.ctx, node, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	created.Status = corev1.NodeStatus{
		Capacity:    it.Capacity,
		Allocatable: it.Allocatable,
		Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}},
	}
	if e.nodeStatus != nil {
		created.Status.Allocatable = created.Status.Allocatable.DeepCopy()
		e.nodeStatus(&created.Status)
	}
	if created, err = e.kube.CoreV1().Nodes().UpdateStatus(e.ctx, created, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
	// The API server's TaintNodesByCondition admission taints every new node
	// not-ready; kube-controller-manager, which does not run here, lifts it
	// once the node is Ready.
	var kept []corev1.Taint
	for _, taint := range created.Spec.Taints {
		if taint.Key != corev1.TaintNodeNotReady {
			kept = append(kept, taint)
		}
	}
	created.Spec.Taints = kept
	if created, err = e.kube.CoreV1().Nodes().Update(e.ctx, created, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
	nc.Status.NodeName = created.Name
	for _, typ := range []string{karpv1.ConditionTypeRegistered, karpv1.ConditionTypeInitialized} {
		meta.SetStatusCondition(&nc.Status.Conditions, metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: typ, Message: "test launcher"})
	}
	if err := e.client.Status().Update(e.ctx, nc); err != nil {
		e.t.Fatal(err)
	}
	return created
}

func requirementValues(nc *karpv1.NodeClaim, key string) []string {
	for _, r := range nc.Spec.Requirements {
		if r.Key == key && r.Operator == corev1.NodeSelectorOpIn {
			return r.Values
		}
	}
	return nil
}

// untaint removes a taint from a node.
func (e *env) untaint(nodeName, key string) {
	e.t.Helper()
	node, err := e.kube.CoreV1().Nodes().Get(e.ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var kept []corev1.Taint
	for _, taint := range node.Spec.Taints {
		if taint.Key != key {
			kept = append(kept, taint)
		}
	}
	node.Spec.Taints = kept
	if _, err := e.kube.CoreV1().Nodes().Update(e.ctx, node, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// boundTo waits until the pod is bound and returns its node.
func (e *env) boundTo(p *corev1.Pod) string {
	e.t.Helper()
	var node string
	err := wait.PollUntilContextTimeout(e.ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := e.kube.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		node = got.Spec.NodeName
		return node != "", nil
	})
	if err != nil {
		e.t.Fatalf("pod %s was not bound: %v; its events:\n%s", p.Name, err, e.events(p))
	}
	return node
}

// events lists a pod's events, for failure messages.
func (e *env) events(p *corev1.Pod) string {
	list, err := e.kube.EventsV1().Events(p.Namespace).List(context.Background(), metav1.ListOptions{FieldSelector: "regarding.name=" + p.Name})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, ev := range list.Items {
		fmt.Fprintf(&b, "  %s %s: %s\n", ev.Type, ev.Reason, ev.Note)
	}
	return b.String()
}

// event waits for an event on a pod whose reason and note match.
func (e *env) event(p *corev1.Pod, reason, noteContains string) string {
	e.t.Helper()
	var note string
	err := wait.PollUntilContextTimeout(e.ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := e.kube.EventsV1().Events(p.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "regarding.name=" + p.Name})
		if err != nil {
			return false, err
		}
		for _, ev := range list.Items {
			if ev.Reason == reason && strings.Contains(ev.Note, noteContains) {
				note = ev.Note
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		e.t.Fatalf("no %s event on pod %s containing %q: %v; its events:\n%s", reason, p.Name, noteContains, err, e.events(p))
	}
	return note
}
