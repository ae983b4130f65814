package manager_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/instance"
	"github.com/tailor-project/tailor/test/controlplane"
)

// appLabels select the pods of the drained workload.
var appLabels = map[string]string{"app": "drained"}

// spareNode is a kwok node where the workload's replacement pods run.
func spareNode() *corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("16"), corev1.ResourceMemory: resource.MustParse("64Gi"), corev1.ResourcePods: resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "spare", Annotations: map[string]string{controlplane.KwokNodeAnnotation: "fake"}},
		Status:     corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
}

// bindPods plays the scheduler for the workload, which no scheduler runs
// in this cluster: pending pods go to the claim's node while it takes
// pods, and to the spare node once it is being drained.
func (e *env) bindPods(ctx context.Context, nodeName string) {
	for ctx.Err() == nil {
		pods, err := e.clients.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=drained", FieldSelector: "spec.nodeName="})
		if err == nil {
			target := nodeName
			if node, err := e.clients.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{}); err != nil || !node.DeletionTimestamp.IsZero() ||
				slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.Key == wellknown.DisruptedTaintKey }) {
				target = "spare"
			}
			for _, pod := range pods.Items {
				_ = e.clients.CoreV1().Pods("default").Bind(ctx, &corev1.Binding{
					ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
					Target:     corev1.ObjectReference{Kind: "Node", Name: target},
				}, metav1.CreateOptions{})
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// readyWatch follows the workload's pods and remembers the fewest that
// were ready at once, from the moment all replicas first were.
type readyWatch struct {
	mu       sync.Mutex
	ready    map[string]bool
	started  bool
	fewest   int
	replicas int
}

func podReady(pod *corev1.Pod) bool {
	if !pod.DeletionTimestamp.IsZero() || pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (w *readyWatch) observe(ev watch.Event) {
	pod, ok := ev.Object.(*corev1.Pod)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ready[pod.Name] = ev.Type != watch.Deleted && podReady(pod)
	n := 0
	for _, r := range w.ready {
		if r {
			n++
		}
	}
	if n >= w.replicas {
		w.started = true
	}
	if w.started && n < w.fewest {
		w.fewest = n
	}
}

func (e *env) watchReady(ctx context.Context, replicas int) *readyWatch {
	w := &readyWatch{ready: map[string]bool{}, fewest: replicas, replicas: replicas}
	go func() {
		for ctx.Err() == nil {
			watcher, err := e.clients.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: "app=drained"})
			if err != nil {
				continue
			}
			for ev := range watcher.ResultChan() {
				w.observe(ev)
			}
		}
	}()
	return w
}

// TestDrainHonoursPodDisruptionBudget: deleting a claim whose node runs
// pods that a PodDisruptionBudget protects evicts them one at a time, never
// leaving fewer ready than the budget's minAvailable, and terminates the
// instance only once they are gone.
func TestDrainHonoursPodDisruptionBudget(t *testing.T) {
	e := newEnv(t)
	l := e.startLauncher(launcherConfig{})
	e.readyClass(nodeClass("default"))
	claim := nodeClaim("drained", "default", onDemandCOrM...)
	claim.Spec.TerminationGracePeriod = &metav1.Duration{Duration: time.Hour}
	e.create(claim, spareNode())
	e.claimCondition(claim, karpv1.ConditionTypeInitialized, metav1.ConditionTrue)
	nodeName := claim.Status.NodeName
	id, err := instance.ParseProviderID(claim.Status.ProviderID)
	if err != nil {
		t.Fatal(err)
	}

	ctx, stop := context.WithCancel(e.ctx)
	defer stop()
	go e.bindPods(ctx, nodeName)
	const replicas = 3
	ready := e.watchReady(ctx, replicas)
	e.create(
		&policyv1.PodDisruptionBudget{
			ObjectMeta: metav1.ObjectMeta{Name: "drained", Namespace: "default"},
			Spec: policyv1.PodDisruptionBudgetSpec{
				MinAvailable: ptr.To(intstr.FromInt32(replicas - 1)),
				Selector:     &metav1.LabelSelector{MatchLabels: appLabels},
			},
		},
		&appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "drained", Namespace: "default"},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To(int32(replicas)),
				Selector: &metav1.LabelSelector{MatchLabels: appLabels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: appLabels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}},
				},
			},
		},
	)
	var originals []string
	e.eventually("the workload runs on the claim's node and its budget allows a disruption", func() (bool, error) {
		pods, err := e.clients.CoreV1().Pods("default").List(e.ctx, metav1.ListOptions{LabelSelector: "app=drained"})
		if err != nil {
			return false, err
		}
		originals = originals[:0]
		for _, p := range pods.Items {
			if p.Spec.NodeName == nodeName && podReady(&p) {
				originals = append(originals, p.Name)
			}
		}
		pdb, err := e.clients.PolicyV1().PodDisruptionBudgets("default").Get(e.ctx, "drained", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(originals) == replicas && pdb.Status.DisruptionsAllowed == 1, nil
	})

	// Watch for the instance to shut down, and look at that moment for
	// pods still on the node.
	leftAtTermination := make(chan []string, 1)
	go func() {
		for ctx.Err() == nil {
			if inst := e.instance(id); inst.State.Name == ec2types.InstanceStateNameShuttingDown || inst.State.Name == ec2types.InstanceStateNameTerminated {
				var left []string
				pods, err := e.clients.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=drained"})
				if err == nil {
					for _, p := range pods.Items {
						if slices.Contains(originals, p.Name) {
							left = append(left, p.Name)
						}
					}
				}
				leftAtTermination <- left
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	if err := e.kube.Delete(e.ctx, claim); err != nil {
		t.Fatal(err)
	}
	e.gone(claim)
	select {
	case left := <-leftAtTermination:
		if len(left) > 0 {
			t.Errorf("instance %s was terminated while pods %v were still on its node", id, left)
		}
	case <-time.After(time.Minute):
		t.Fatalf("instance %s did not shut down", id)
	}
	ready.mu.Lock()
	fewest := ready.fewest
	ready.mu.Unlock()
	if fewest < replicas-1 {
		t.Errorf("only %d pods were ready at one point of the drain; the budget keeps %d", fewest, replicas-1)
	}
	if message := e.eventWith(claim, "Evicted"); message == "" {
		t.Error("no eviction was recorded on the claim")
	}
	e.running(l)
}
