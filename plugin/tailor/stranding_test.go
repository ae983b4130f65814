package tailor_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/reservation"
	"github.com/tailor-project/tailor/plugin/tailor"
)

// These tests cover the ways provisioning could strand a pod or keep a node
// forever. Each fails on the plugin as it was before the fix it covers.

// TestReservationOfAPodBoundElsewhereIsReleased: a pod provided for binds to
// another node without Tailor's scheduling cycle (another scheduler, or a
// binding that raced the batch). Its reservation must not outlive that: the
// claim bought for it is withdrawn before it launches, and no room stays
// fenced off.
func TestReservationOfAPodBoundElsewhereIsReleased(t *testing.T) {
	e := newEnv(t, "01-nodepool-basic.yaml")
	p := e.pods("raced", 1, "1")[0]
	nc := e.claimsFor([]*corev1.Pod{p})[0]

	other := e.readyNode("elsewhere", "16", "64Gi")
	binding := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: p.UID}, Target: corev1.ObjectReference{Kind: "Node", Name: other.Name}}
	if err := e.kube.CoreV1().Pods(p.Namespace).Bind(e.ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.gone(nc.Name, "claim %s of a pod that bound elsewhere was not withdrawn")
}

// TestFailedClaimCreationIsRetried: the API server refuses NodeClaims for a
// while. The pods hear why, and get their claims once it accepts them again,
// without any other event to wake them.
func TestFailedClaimCreationIsRetried(t *testing.T) {
	e := newEnv(t, "01-nodepool-basic.yaml")
	// In a cluster with no node at all kube-scheduler retries every pod on
	// its own; one node too small for the pods makes this a real cluster.
	e.readyNode("small", "500m", "512Mi")
	unblock := e.refuseNodeClaims()
	pods := e.pods("refused", 2, "1")
	e.event(pods[0], tailor.ReasonProvisioningFailed, "NodeClaims refused by the test")
	unblock()
	e.claimsFor(pods)
}

// TestFixingThePoolDecidesAgain: a pod no pool can host waits until a pool
// changes, then gets capacity within a batch window, not at the scheduler's
// five-minute flush.
func TestFixingThePoolDecidesAgain(t *testing.T) {
	e := newEnv(t, "01-nodepool-basic.yaml")
	e.readyNode("small", "500m", "512Mi")
	p := e.pods("ml", 1, "1", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"team": "ml"} })[0]
	e.event(p, tailor.ReasonCannotProvision, "team")

	np := e.nodePool("default")
	np.Spec.Template.ObjectMeta.Labels["team"] = "ml"
	if err := e.client.Update(e.ctx, np); err != nil {
		t.Fatal(err)
	}
	e.claimsFor([]*corev1.Pod{p})
}

// TestOldRefusalsAreNotLearntAgain: an offering EC2 refused long ago, still
// recorded on a claim, does not keep the plugin from choosing it; one
// refused just now does.
func TestOldRefusalsAreNotLearntAgain(t *testing.T) {
	e := newEnv(t, "01-nodepool-basic.yaml")
	cheapest := requirementValues(e.claimAlone("first"), wellknown.InstanceTypeLabel)[0]

	e.recordRefusals("refused-long-ago", cheapest, time.Now().Add(-time.Hour))
	if got := requirementValues(e.claimAlone("again"), wellknown.InstanceTypeLabel)[0]; got != cheapest {
		t.Errorf("after a refusal an hour old the plugin offers %s first, want %s", got, cheapest)
	}

	e.recordRefusals("refused-now", cheapest, time.Now())
	for _, it := range requirementValues(e.claimAlone("avoid"), wellknown.InstanceTypeLabel) {
		if it == cheapest {
			t.Errorf("the claim offers %s, refused a moment ago in every zone", it)
		}
	}
}

// claimAlone provides for one 1-CPU pod and returns its claim; then deletes
// the pod and waits for the claim to be withdrawn, so the next pod does not
// join it. Claims recording refusals are created with a pause before, so
// the plugin has read them when the pod's batch closes.
func (e *env) claimAlone(name string) *karpv1.NodeClaim {
	e.t.Helper()
	time.Sleep(time.Second)
	p := e.pods(name, 1, "1")[0]
	var mine *karpv1.NodeClaim
	for _, nc := range e.claimsFor([]*corev1.Pod{p}) {
		recorded, err := reservation.Decode(nc.Annotations[reservation.Annotation])
		if err != nil {
			e.t.Fatal(err)
		}
		for _, r := range recorded {
			if r.UID == p.UID {
				mine = nc.DeepCopy()
			}
		}
	}
	if err := e.kube.CoreV1().Pods(p.Namespace).Delete(e.ctx, p.Name, metav1.DeleteOptions{}); err != nil {
		e.t.Fatal(err)
	}
	e.gone(mine.Name, "claim %s of a deleted pod was not withdrawn")
	return mine
}

// readyNode creates a Ready node that is not a claim's, with room.
func (e *env) readyNode(name, cpu, memory string) *corev1.Node {
	e.t.Helper()
	node, err := e.kube.CoreV1().Nodes().Create(e.ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels: map[string]string{wellknown.HostnameLabel: name, wellknown.ZoneLabel: "us-east-1a"}}}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	capacity := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory), corev1.ResourcePods: resource.MustParse("110")}
	node.Status = corev1.NodeStatus{Capacity: capacity, Allocatable: capacity,
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}}
	if node, err = e.kube.CoreV1().Nodes().UpdateStatus(e.ctx, node, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
	return node
}

// gone waits until a claim is deleted.
func (e *env) gone(claim, format string) {
	e.t.Helper()
	err := wait.PollUntilContextTimeout(e.ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		err := e.client.Get(ctx, client.ObjectKey{Name: claim}, &karpv1.NodeClaim{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if err != nil {
		e.t.Fatalf(format+": %v", claim, err)
	}
}

// refuseNodeClaims makes the API server refuse every new NodeClaim, through
// a ValidatingAdmissionPolicy, until the returned function is called. It
// returns once the policy is in force.
func (e *env) refuseNodeClaims() (unblock func()) {
	e.t.Helper()
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "refuse-nodeclaims"},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create},
					Rule:       admissionv1.Rule{APIGroups: []string{"karpenter.sh"}, APIVersions: []string{"v1"}, Resources: []string{"nodeclaims"}},
				},
			}}},
			Validations: []admissionv1.Validation{{Expression: "false", Message: "NodeClaims refused by the test"}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "refuse-nodeclaims"},
		Spec:       admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policy.Name, ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny}},
	}
	if _, err := e.kube.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(e.ctx, policy, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(e.ctx, binding, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
	probe := func() error {
		nc := &karpv1.NodeClaim{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-"},
			Spec: karpv1.NodeClaimSpec{
				NodeClassRef: &karpv1.NodeClassReference{Group: "karpenter.k8s.aws", Kind: "EC2NodeClass", Name: "default"},
				Requirements: []karpv1.NodeSelectorRequirementWithMinValues{{
					Key: wellknown.CapacityTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{wellknown.CapacityTypeOnDemand}}},
			},
		}
		return e.client.Create(e.ctx, nc, client.DryRunAll)
	}
	err := wait.PollUntilContextTimeout(e.ctx, 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return probe() != nil, nil
	})
	if err != nil {
		e.t.Fatalf("the policy refusing NodeClaims never took effect: %v", err)
	}
	return func() {
		e.t.Helper()
		if err := e.kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(e.ctx, binding.Name, metav1.DeleteOptions{}); err != nil {
			e.t.Fatal(err)
		}
		err := wait.PollUntilContextTimeout(e.ctx, 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			return probe() == nil, nil
		})
		if err != nil {
			e.t.Fatalf("NodeClaims still refused after the policy's binding was deleted: %v", err)
		}
	}
}

// recordRefusals creates a claim of a pool that does not exist (so no pod
// is placed on it) that records, as the launcher does, that EC2 refused an
// instance type in every zone and capacity type at a given time.
func (e *env) recordRefusals(name, instanceType string, at time.Time) {
	e.t.Helper()
	var refused []wellknown.UnavailableOffering
	for _, zone := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
		for _, ct := range []string{wellknown.CapacityTypeSpot, wellknown.CapacityTypeOnDemand} {
			refused = append(refused, wellknown.UnavailableOffering{InstanceType: instanceType, Zone: zone, CapacityType: ct, Reason: "InsufficientInstanceCapacity", At: at})
		}
	}
	raw, err := json.Marshal(refused)
	if err != nil {
		e.t.Fatal(err)
	}
	nc := &karpv1.NodeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{wellknown.NodePoolLabel: "not-a-pool"},
			Annotations: map[string]string{wellknown.UnavailableOfferingsAnnotation: string(raw)}},
		Spec: karpv1.NodeClaimSpec{
			NodeClassRef: &karpv1.NodeClassReference{Group: "karpenter.k8s.aws", Kind: "EC2NodeClass", Name: "default"},
			Requirements: []karpv1.NodeSelectorRequirementWithMinValues{{
				Key: wellknown.InstanceTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{instanceType}}},
		},
	}
	if err := e.client.Create(e.ctx, nc); err != nil {
		e.t.Fatal(err)
	}
}
