package nodeclaim

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/fieldindex"
	"github.com/tailor-project/tailor/launcher/fleet"
)

func condition(t string, status metav1.ConditionStatus, reason string, at time.Time) metav1.Condition {
	return metav1.Condition{Type: t, Status: status, Reason: reason, LastTransitionTime: metav1.Time{Time: at}}
}

// TestSetReady: Ready follows the first lifecycle step that is not done.
func TestSetReady(t *testing.T) {
	at := time.Now()
	tests := []struct {
		name       string
		conditions []metav1.Condition
		want       metav1.ConditionStatus
		reason     string
	}{
		{"nothing known", nil, metav1.ConditionUnknown, "AwaitingReconciliation"},
		{"waiting for the class", []metav1.Condition{condition(karpv1.ConditionTypeLaunched, metav1.ConditionFalse, ReasonNodeClassNotReady, at)}, metav1.ConditionFalse, ReasonNodeClassNotReady},
		{"launched, not registered", []metav1.Condition{
			condition(karpv1.ConditionTypeLaunched, metav1.ConditionTrue, ReasonLaunched, at),
			condition(karpv1.ConditionTypeRegistered, metav1.ConditionUnknown, "AwaitingReconciliation", at),
		}, metav1.ConditionUnknown, "AwaitingReconciliation"},
		{"all done", []metav1.Condition{
			condition(karpv1.ConditionTypeLaunched, metav1.ConditionTrue, ReasonLaunched, at),
			condition(karpv1.ConditionTypeRegistered, metav1.ConditionTrue, ReasonRegistered, at),
			condition(karpv1.ConditionTypeInitialized, metav1.ConditionTrue, ReasonInitialized, at),
		}, metav1.ConditionTrue, "Ready"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			claim := &karpv1.NodeClaim{Status: karpv1.NodeClaimStatus{Conditions: tc.conditions}}
			setReady(claim)
			ready := meta.FindStatusCondition(claim.Status.Conditions, karpv1.ConditionTypeReady)
			if ready == nil || ready.Status != tc.want || ready.Reason != tc.reason {
				t.Errorf("Ready = %+v, want %s %s", ready, tc.want, tc.reason)
			}
		})
	}
}

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := karpv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return scheme
}

func newClient(t *testing.T, objs ...client.Object) client.Client {
	return fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objs...).WithStatusSubresource(&karpv1.NodeClaim{}).Build()
}

// TestLiveness: a claim that cannot be launched goes after the backoff,
// one whose node does not register goes after the TTL, and the others stay.
func TestLiveness(t *testing.T) {
	launchedAt := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	registered := condition(karpv1.ConditionTypeRegistered, metav1.ConditionTrue, ReasonRegistered, launchedAt)
	tests := []struct {
		name        string
		conditions  []metav1.Condition
		after       time.Duration
		wantDeleted bool
		wantRequeue time.Duration
		wantEvent   string
	}{
		{"not launchable, within the backoff", []metav1.Condition{condition(karpv1.ConditionTypeLaunched, metav1.ConditionFalse, fleet.ReasonInsufficientCapacity, launchedAt)},
			4 * time.Second, false, 6 * time.Second, ""},
		{"not launchable, backoff over", []metav1.Condition{condition(karpv1.ConditionTypeLaunched, metav1.ConditionFalse, fleet.ReasonInsufficientCapacity, launchedAt)},
			10 * time.Second, true, 0, "NotLaunchable"},
		{"waiting for its class is not given up", []metav1.Condition{condition(karpv1.ConditionTypeLaunched, metav1.ConditionFalse, ReasonNodeClassNotReady, launchedAt)},
			time.Hour, false, 0, ""},
		{"launched, registration pending", []metav1.Condition{condition(karpv1.ConditionTypeLaunched, metav1.ConditionTrue, ReasonLaunched, launchedAt)},
			14 * time.Minute, false, time.Minute, ""},
		{"launched, never registered", []metav1.Condition{condition(karpv1.ConditionTypeLaunched, metav1.ConditionTrue, ReasonLaunched, launchedAt)},
			15 * time.Minute, true, 0, "RegistrationTimeout"},
		{"registered long ago", []metav1.Condition{condition(karpv1.ConditionTypeLaunched, metav1.ConditionTrue, ReasonLaunched, launchedAt), registered},
			time.Hour, false, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			claim := &karpv1.NodeClaim{ObjectMeta: metav1.ObjectMeta{Name: "c", UID: "uid"}, Status: karpv1.NodeClaimStatus{Conditions: tc.conditions, ProviderID: "aws:///us-east-1a/i-0123456789abcdef0"}}
			c := newClient(t, claim)
			recorder := record.NewFakeRecorder(10)
			l := &Liveness{Client: c, Recorder: recorder, Clock: clocktesting.NewFakeClock(launchedAt.Add(tc.after))}
			res, err := l.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Name: "c"}})
			if err != nil {
				t.Fatal(err)
			}
			err = c.Get(context.Background(), types.NamespacedName{Name: "c"}, &karpv1.NodeClaim{})
			if deleted := err != nil; deleted != tc.wantDeleted || res.RequeueAfter != tc.wantRequeue {
				t.Errorf("deleted %v, requeue after %s; want %v, %s", deleted, res.RequeueAfter, tc.wantDeleted, tc.wantRequeue)
			}
			var events []string
			for len(recorder.Events) > 0 {
				events = append(events, <-recorder.Events)
			}
			if tc.wantEvent != "" && !slices.ContainsFunc(events, func(e string) bool { return strings.Contains(e, tc.wantEvent) }) {
				t.Errorf("events %v, want one %s", events, tc.wantEvent)
			}
		})
	}
}

// TestNotInitialized: a node is initialized when it is Ready, its startup
// taints are gone and it advertises the extended resources its pods
// requested; what else its type could offer (here an EFA adapter) is not
// waited for.
func TestNotInitialized(t *testing.T) {
	gpu := corev1.ResourceName("nvidia.com/gpu")
	efa := corev1.ResourceName("vpc.amazonaws.com/efa")
	startup := corev1.Taint{Key: "agent.example.com/not-ready", Effect: corev1.TaintEffectNoSchedule}
	claim := &karpv1.NodeClaim{
		Spec: karpv1.NodeClaimSpec{StartupTaints: []corev1.Taint{startup},
			Resources: karpv1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), gpu: resource.MustParse("1")}}},
		Status: karpv1.NodeClaimStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), gpu: resource.MustParse("1"), efa: resource.MustParse("1")}},
	}
	ready := []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	withGPU := corev1.ResourceList{gpu: resource.MustParse("1")}
	tests := []struct {
		name        string
		conditions  []corev1.NodeCondition
		taints      []corev1.Taint
		allocatable corev1.ResourceList
		want        string
	}{
		{"not ready", nil, nil, withGPU, ReasonNodeNotReady},
		{"startup taint", ready, []corev1.Taint{startup}, withGPU, ReasonStartupTaintsExist},
		{"still unregistered", ready, []corev1.Taint{wellknown.UnregisteredNoExecuteTaint}, withGPU, ReasonStartupTaintsExist},
		{"gpu not advertised", ready, nil, corev1.ResourceList{gpu: resource.MustParse("0")}, ReasonResourcesNotRegistered},
		{"initialized", ready, []corev1.Taint{{Key: "dedicated", Effect: corev1.TaintEffectNoSchedule}}, withGPU, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			node := &corev1.Node{Spec: corev1.NodeSpec{Taints: tc.taints}, Status: corev1.NodeStatus{Conditions: tc.conditions, Allocatable: tc.allocatable}}
			if reason, message := notInitialized(claim, node); reason != tc.want {
				t.Errorf("notInitialized = %s (%s), want %q", reason, message, tc.want)
			}
		})
	}
}

// TestRegistrationLinksNode: the node gets the claim's labels, owner,
// finalizer and taints, and loses the unregistered taint; the claim gets
// the node's name and Registered.
func TestRegistrationLinksNode(t *testing.T) {
	startup := corev1.Taint{Key: "agent.example.com/not-ready", Effect: corev1.TaintEffectNoSchedule}
	claim := &karpv1.NodeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "c", UID: "claim-uid", Labels: map[string]string{wellknown.NodePoolLabel: "default", "team": "a"}},
		Spec:       karpv1.NodeClaimSpec{StartupTaints: []corev1.Taint{startup}},
		Status: karpv1.NodeClaimStatus{ProviderID: "aws:///us-east-1a/i-0123456789abcdef0", Conditions: []metav1.Condition{
			condition(karpv1.ConditionTypeLaunched, metav1.ConditionTrue, ReasonLaunched, time.Now()),
		}},
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{"team": "kept"}},
		Spec:       corev1.NodeSpec{ProviderID: claim.Status.ProviderID, Taints: []corev1.Taint{wellknown.UnregisteredNoExecuteTaint}},
	}
	c := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(claim, node).WithStatusSubresource(&karpv1.NodeClaim{}).
		WithIndex(&corev1.Node{}, fieldindex.NodeProviderID, func(o client.Object) []string { return []string{o.(*corev1.Node).Spec.ProviderID} }).Build()
	r := &Registration{Client: c, Recorder: record.NewFakeRecorder(10)}
	if _, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Name: "c"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(context.Background(), types.NamespacedName{Name: "n"}, node); err != nil {
		t.Fatal(err)
	}
	if node.Labels[wellknown.NodePoolLabel] != "default" || node.Labels["team"] != "kept" || node.Labels[wellknown.RegisteredLabel] != "true" {
		t.Errorf("node labels %v: want the claim's added, the node's kept, and registered", node.Labels)
	}
	if len(node.Spec.Taints) != 1 || !node.Spec.Taints[0].MatchTaint(&startup) {
		t.Errorf("node taints %v, want only the startup taint", node.Spec.Taints)
	}
	if !slices.Contains(node.Finalizers, wellknown.TerminationFinalizer) || len(node.OwnerReferences) != 1 || node.OwnerReferences[0].UID != "claim-uid" {
		t.Errorf("node finalizers %v, owners %v", node.Finalizers, node.OwnerReferences)
	}
	if err := c.Get(context.Background(), types.NamespacedName{Name: "c"}, claim); err != nil {
		t.Fatal(err)
	}
	if claim.Status.NodeName != "n" || !isTrue(claim, karpv1.ConditionTypeRegistered) {
		t.Errorf("claim status %+v, want node n Registered", claim.Status)
	}
}

// TestRecordUnavailable: offerings accumulate in the annotation, an
// offering recorded again gets its new reason.
func TestRecordUnavailable(t *testing.T) {
	claim := &karpv1.NodeClaim{}
	first := fleet.Offering{InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "spot", Reason: "InsufficientInstanceCapacity"}
	second := fleet.Offering{InstanceType: "c5.large", Zone: "us-east-1b", CapacityType: "spot", Reason: "InsufficientInstanceCapacity"}
	again := first
	again.Reason = "MaxSpotInstanceCountExceeded"
	for _, batch := range [][]fleet.Offering{{first}, {second, again}} {
		if err := recordUnavailable(claim, batch); err != nil {
			t.Fatal(err)
		}
	}
	got, err := UnavailableOfferings(claim)
	if err != nil {
		t.Fatal(err)
	}
	// Each refusal carries when it happened, for the scheduler to count its
	// TTL from.
	for i := range got {
		if got[i].At.IsZero() || got[i].At.After(time.Now()) || time.Since(got[i].At) > time.Minute {
			t.Errorf("offering %s recorded at %v, want about now", got[i].InstanceType, got[i].At)
		}
		got[i].At = time.Time{}
	}
	if !slices.Equal(got, []fleet.Offering{again, second}) {
		t.Errorf("recorded %+v", got)
	}
}

func TestFits(t *testing.T) {
	allocatable := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1930m"), corev1.ResourceMemory: resource.MustParse("7Gi")}
	tests := []struct {
		requests corev1.ResourceList
		want     bool
	}{
		{corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}, true},
		{corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}, false},
		{corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}, false},
		{corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("0")}, true},
		{nil, true},
	}
	for _, tc := range tests {
		if got := fits(tc.requests, allocatable); got != tc.want {
			t.Errorf("fits(%v) = %v, want %v", tc.requests, got, tc.want)
		}
	}
}
