package tailor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/plugin/disruption"
	"github.com/tailor-project/tailor/plugin/reservation"
)

// The test plays the launcher and the workloads' controllers: it launches
// claims (env.launch) and deletes pods; the plugin's disruption loop
// decides what to consolidate. Pods carry a controller reference, since a
// pod nothing would recreate blocks consolidation.

// TestConsolidationDeletesNodeWhosePodsFitElsewhere: a node whose pod fits
// on another node's free room goes, once it has been unchanged for
// consolidateAfter; the other stays.
func TestConsolidationDeletesNodeWhosePodsFitElsewhere(t *testing.T) {
	e := newConsolidationEnv(t)
	e.consolidation("2s", karpv1.Budget{Nodes: "100%"})
	// The small node first: the small pod would bind to the big node's room.
	small, _ := e.launchedWith("small", 1, owned)
	big, bigNode := e.launchedWith("big", 3, owned)
	e.deletePods("big-2")

	e.condition(small.Name, karpv1.ConditionTypeConsolidatable)
	e.gone(small.Name, "claim %s, whose pod fits on the bigger node, was not consolidated")
	e.claimEvent(small.Name, disruption.ReasonDisrupting, "Underutilized (single-node consolidation): its pods fit on the other nodes")
	e.condition(big.Name, karpv1.ConditionTypeConsolidatable)
	if err := e.client.Get(e.ctx, client.ObjectKeyFromObject(big), &karpv1.NodeClaim{}); err != nil {
		t.Errorf("the node that took the pods went too: %v", err)
	}
	for _, nc := range e.claims() {
		if nc.Annotations[disruption.ReplacementForAnnotation] != "" {
			t.Errorf("claim %s replaces %s: deleting was enough", nc.Name, nc.Annotations[disruption.ReplacementForAnnotation])
		}
	}
	if n, err := e.kube.CoreV1().Nodes().Get(e.ctx, bigNode, metav1.GetOptions{}); err != nil || hasTaint(n, wellknown.DisruptedTaintKey) {
		t.Errorf("the node kept was tainted or is gone: %v", err)
	}
}

// TestConsolidationReplacesWithCheaperNode: a node left with one of its
// three pods is replaced by a smaller, cheaper one, launched first; the
// node goes once the replacement is initialized.
func TestConsolidationReplacesWithCheaperNode(t *testing.T) {
	e := newConsolidationEnv(t)
	e.consolidation("2s", karpv1.Budget{Nodes: "100%"})
	old, node := e.launchedWith("shrunk", 3, owned)
	e.deletePods("shrunk-1", "shrunk-2")

	replacement := e.replacementOf(old.Name)
	oldPrice := e.price(old, node)
	newPrice := e.cheapest(replacement)
	if newPrice > oldPrice*0.95 {
		t.Errorf("replacement costs $%.4f/h, not 5%% below the $%.4f/h of the node it replaces", newPrice, oldPrice)
	}
	e.claimEvent(old.Name, disruption.ReasonReplacing, "replacement NodeClaim "+replacement.Name)
	time.Sleep(2 * time.Second)
	if err := e.client.Get(e.ctx, client.ObjectKeyFromObject(old), &karpv1.NodeClaim{}); err != nil {
		t.Fatalf("the consolidated claim went before its replacement was up: %v", err)
	}
	e.launch(replacement)
	e.gone(old.Name, "claim %s was not deleted once its replacement was initialized")
	e.claimEvent(old.Name, disruption.ReasonDisrupting, "replaced by NodeClaim "+replacement.Name)
}

// TestMultiNodeConsolidation: two nodes left with one pod each are replaced
// together by one cheaper node.
func TestMultiNodeConsolidation(t *testing.T) {
	e := newConsolidationEnv(t)
	e.consolidation("3s", karpv1.Budget{Nodes: "100%"})
	// Full nodes, so that b's pods do not land on a's.
	a, _ := e.launchedWith("a", 7, owned)
	b, _ := e.launchedWith("b", 7, owned)
	e.deletePods("a-1", "a-2", "a-3", "a-4", "a-5", "a-6", "b-1", "b-2", "b-3", "b-4", "b-5", "b-6")

	replacement := e.replacementAmong(a.Name)
	replaced := strings.Split(replacement.Annotations[disruption.ReplacementForAnnotation], ",")
	if len(replaced) != 2 || !contains(replaced, b.Name) {
		t.Fatalf("replacement %s replaces %v, want %s and %s together", replacement.Name, replaced, a.Name, b.Name)
	}
	e.claimEvent(b.Name, disruption.ReasonReplacing, "multi-node consolidation")
	e.launch(replacement)
	e.gone(a.Name, "claim %s was not deleted once the replacement was initialized")
	e.gone(b.Name, "claim %s was not deleted once the replacement was initialized")
}

// TestSpotToSpotConsolidation: a spot node is replaced by spot only when
// the pool allows at least 15 types cheaper than it, and the replacement
// then offers only those.
func TestSpotToSpotConsolidation(t *testing.T) {
	e := newConsolidationEnv(t)
	e.consolidation("2s", karpv1.Budget{Nodes: "100%"})
	e.poolRequirements(
		karpv1.NodeSelectorRequirementWithMinValues{Key: wellknown.CapacityTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{wellknown.CapacityTypeSpot}},
		karpv1.NodeSelectorRequirementWithMinValues{Key: "karpenter.k8s.aws/instance-family", Operator: corev1.NodeSelectorOpIn, Values: []string{"c6i", "c7i", "m6i"}},
	)
	old, node := e.launchedWith("spot", 3, owned)
	if n, _ := e.kube.CoreV1().Nodes().Get(e.ctx, node, metav1.GetOptions{}); n.Labels[wellknown.CapacityTypeLabel] != wellknown.CapacityTypeSpot {
		t.Fatalf("node %s is %q, not spot", node, n.Labels[wellknown.CapacityTypeLabel])
	}
	e.deletePods("spot-1", "spot-2")
	e.claimEvent(old.Name, disruption.ReasonUnconsolidatable, "a spot replacement needs at least 15 instance types")
	for _, nc := range e.claims() {
		if nc.Annotations[disruption.ReplacementForAnnotation] == old.Name {
			t.Fatalf("claim %s replaces spot %s with fewer than 15 cheaper types", nc.Name, old.Name)
		}
	}

	// Every c, m and r family of generation 6 and later: many cheaper types.
	e.updatePool(func(np *karpv1.NodePool) {
		var kept []karpv1.NodeSelectorRequirementWithMinValues
		for _, r := range np.Spec.Template.Spec.Requirements {
			if r.Key != "karpenter.k8s.aws/instance-family" {
				kept = append(kept, r)
			}
		}
		np.Spec.Template.Spec.Requirements = kept
	})
	replacement := e.replacementOf(old.Name)
	oldPrice := e.price(old, node)
	offered := requirementValues(replacement, wellknown.InstanceTypeLabel)
	if len(offered) < 15 {
		t.Errorf("spot replacement offers %d types, want at least 15", len(offered))
	}
	for _, name := range offered {
		if p := e.typePrice(replacement, name, wellknown.CapacityTypeSpot); p >= oldPrice {
			t.Errorf("spot replacement offers %s at $%.4f/h, not cheaper than the $%.4f/h node it replaces", name, p, oldPrice)
		}
	}
}

// TestConsolidationBlockers: a do-not-disrupt pod, a PDB that allows no
// eviction, and a budget of no node each keep a node, and say so; a budget
// of no node limited to reason Drifted does not.
func TestConsolidationBlockers(t *testing.T) {
	e := newConsolidationEnv(t)
	e.consolidation("2s", karpv1.Budget{Nodes: "0"})
	zero := intstr.FromInt32(0)
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "guarded", Namespace: "default"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &zero, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "guarded"}}},
	}
	if _, err := e.kube.PolicyV1().PodDisruptionBudgets("default").Create(e.ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Full nodes first, then room on them: the free pod would fit on either.
	free, _ := e.launchedWith("free", 1, owned)
	kept, _ := e.launchedWith("kept", 3, owned, func(p *corev1.Pod) {
		p.Annotations = map[string]string{wellknown.DoNotDisruptAnnotation: "true"}
	})
	guarded, _ := e.launchedWith("guarded", 3, owned)
	e.deletePods("kept-1", "kept-2", "guarded-1", "guarded-2")

	e.claimEvent(kept.Name, disruption.ReasonUnconsolidatable, "is annotated "+wellknown.DoNotDisruptAnnotation)
	e.claimEvent(guarded.Name, disruption.ReasonUnconsolidatable, "PodDisruptionBudget default/guarded allows no eviction")
	e.claimEvent(free.Name, disruption.ReasonUnconsolidatable, "disruption budget for reason Underutilized allows no more")
	if err := e.client.Get(e.ctx, client.ObjectKeyFromObject(free), &karpv1.NodeClaim{}); err != nil {
		t.Fatalf("claim %s went against a budget of 0: %v", free.Name, err)
	}

	e.consolidation("2s", karpv1.Budget{Nodes: "0", Reasons: []karpv1.DisruptionReason{karpv1.DisruptionReasonDrifted}})
	e.gone(free.Name, "claim %s was not consolidated under a budget that only limits drift")
	for _, nc := range e.claims() {
		if nc.Name == kept.Name || nc.Name == guarded.Name {
			if nc.DeletionTimestamp != nil {
				t.Errorf("blocked claim %s is being deleted", nc.Name)
			}
		}
		if r := nc.Annotations[disruption.ReplacementForAnnotation]; r == kept.Name || r == guarded.Name {
			t.Errorf("claim %s replaces blocked claim %s", nc.Name, r)
		}
	}
}

// newConsolidationEnv is newEnv with the seed's basic pool and a short
// consolidation validation period.
func newConsolidationEnv(t *testing.T) *env {
	t.Helper()
	config := strings.Replace(schedulerConfig, "      catalog:", "      consolidation: {validationPeriod: 1s}\n      catalog:", 1)
	return newEnvWith(t, config, "01-nodepool-basic.yaml")
}

// consolidation sets the default pool to consolidate underused nodes after
// a short while, within the budgets given.
func (e *env) consolidation(after string, b ...karpv1.Budget) {
	e.t.Helper()
	e.updatePool(func(np *karpv1.NodePool) {
		np.Spec.Disruption.ConsolidationPolicy = karpv1.ConsolidationPolicyWhenEmptyOrUnderutilized
		np.Spec.Disruption.ConsolidateAfter = karpv1.MustParseNillableDuration(after)
		np.Spec.Disruption.Budgets = b
	})
}

// poolRequirements replaces the default pool's requirements on the keys
// given.
func (e *env) poolRequirements(reqs ...karpv1.NodeSelectorRequirementWithMinValues) {
	e.t.Helper()
	e.updatePool(func(np *karpv1.NodePool) {
		var kept []karpv1.NodeSelectorRequirementWithMinValues
		for _, r := range np.Spec.Template.Spec.Requirements {
			replaced := false
			for _, n := range reqs {
				replaced = replaced || n.Key == r.Key
			}
			if !replaced {
				kept = append(kept, r)
			}
		}
		np.Spec.Template.Spec.Requirements = append(kept, reqs...)
	})
}

func (e *env) updatePool(mutate func(*karpv1.NodePool)) {
	e.t.Helper()
	err := wait.PollUntilContextTimeout(e.ctx, 100*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		np := e.nodePool("default")
		mutate(np)
		return e.client.Update(ctx, np) == nil, nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// owned gives a pod a controller, as a ReplicaSet's pods have: one that
// would come back elsewhere.
func owned(p *corev1.Pod) {
	yes := true
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: p.Labels["app"],
		UID: types.UID("rs-" + p.Labels["app"]), Controller: &yes}}
}

// deletePods deletes pods of the default namespace at once, as a scale-down
// does.
func (e *env) deletePods(names ...string) {
	e.t.Helper()
	zero := int64(0)
	for _, name := range names {
		if err := e.kube.CoreV1().Pods("default").Delete(e.ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// condition waits for a claim's condition to be True.
func (e *env) condition(claim, typ string) {
	e.t.Helper()
	err := wait.PollUntilContextTimeout(e.ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		nc := &karpv1.NodeClaim{}
		if err := e.client.Get(ctx, client.ObjectKey{Name: claim}, nc); err != nil {
			return false, err
		}
		return meta.IsStatusConditionTrue(nc.Status.Conditions, typ), nil
	})
	if err != nil {
		e.t.Fatalf("claim %s is not %s: %v; its events:\n%s", claim, typ, err, e.claimEvents(claim))
	}
}

// price is what the catalog asks for a launched node's offering.
func (e *env) price(nc *karpv1.NodeClaim, nodeName string) float64 {
	e.t.Helper()
	n, err := e.kube.CoreV1().Nodes().Get(e.ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.typePrice(nc, n.Labels[wellknown.InstanceTypeLabel], n.Labels[wellknown.CapacityTypeLabel])
}

// cheapest is what the launcher would pay for a claim: its first type in
// its first zone and capacity type, as env.launch launches it.
func (e *env) cheapest(nc *karpv1.NodeClaim) float64 {
	return e.typePrice(nc, requirementValues(nc, wellknown.InstanceTypeLabel)[0], requirementValues(nc, wellknown.CapacityTypeLabel)[0])
}

func (e *env) typePrice(nc *karpv1.NodeClaim, typ, capacityType string) float64 {
	e.t.Helper()
	for _, it := range e.poolTypes(nc) {
		if it.Name != typ {
			continue
		}
		for _, o := range it.Offerings {
			if o.CapacityType == capacityType {
				return o.Price
			}
		}
	}
	e.t.Fatalf("the catalog has no %s %s", capacityType, typ)
	return 0
}

func (e *env) poolTypes(nc *karpv1.NodeClaim) []*catalog.InstanceType {
	e.t.Helper()
	np := e.nodePool(nc.Labels[wellknown.NodePoolLabel])
	np.Spec.Template.Spec.Requirements = nil
	class := e.nodeClass(np.Spec.Template.Spec.NodeClassRef.Name)
	all, err := e.catalog.InstanceTypes(e.ctx, np, class)
	if err != nil {
		e.t.Fatal(err)
	}
	return all
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (e *env) nodeClass(name string) *ec2v1.EC2NodeClass {
	e.t.Helper()
	class := &ec2v1.EC2NodeClass{}
	if err := e.client.Get(e.ctx, client.ObjectKey{Name: name}, class); err != nil {
		e.t.Fatal(err)
	}
	return class
}

// replacementAmong waits for a claim that replaces the claim, alone or with
// others.
func (e *env) replacementAmong(claim string) *karpv1.NodeClaim {
	e.t.Helper()
	var found *karpv1.NodeClaim
	err := wait.PollUntilContextTimeout(e.ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, nc := range e.claims() {
			if contains(strings.Split(nc.Annotations[disruption.ReplacementForAnnotation], ","), claim) {
				found = nc.DeepCopy()
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		e.t.Fatalf("no replacement for claim %s: %v; its events:\n%s", claim, err, e.claimEvents(claim))
	}
	return found
}

// TestReplacementRoomIsHeldForDisplacedPods: a replacement's room waits for
// the pods of the node it replaces, which come back as new pods of their
// controller. A pod of another controller does not get it, neither while
// the replacement launches nor once its node is up; the displaced pods
// take it, through the batch while it launches, through the scheduling
// cycle once its node is up.
func TestReplacementRoomIsHeldForDisplacedPods(t *testing.T) {
	e := newConsolidationEnv(t)
	e.consolidation("2s", karpv1.Budget{Nodes: "100%"})
	// Six pods of 600m on a 4-cpu node, three of them gone: the three left
	// move to a 2-cpu node, which holds 1.8 cpu of its 1.93 for them.
	old, oldNode := e.launchedSized("shrunk", 6, "600m", owned)
	e.deletePods("shrunk-3", "shrunk-4", "shrunk-5")
	replacement := e.replacementOf(old.Name)
	if holds, err := reservation.DecodeHolds(replacement.Annotations[reservation.HoldAnnotation]); err != nil || len(holds) != 3 {
		t.Fatalf("replacement %s holds %v (%v), want room for the 3 pods of the node it replaces", replacement.Name, holds, err)
	}

	// While the replacement launches, the old node is cordoned, as a node
	// going away is: a pod as big as the room held is bought a node of its
	// own; a displaced pod back as a new pod of its ReplicaSet waits for the
	// replacement.
	e.cordon(oldNode)
	intruder := e.pods("intruder", 1, "1")[0]
	e.deletePods("shrunk-0")
	back := e.pods("shrunk-back", 1, "600m", sameController("shrunk"))[0]
	claims := e.claimsFor([]*corev1.Pod{intruder, back})
	for _, nc := range claims {
		recorded, _ := reservation.Decode(nc.Annotations[reservation.Annotation])
		for _, r := range recorded {
			if r.UID == intruder.UID && nc.Name == replacement.Name {
				t.Errorf("pod %s of no controller took the room held on replacement %s", intruder.Name, replacement.Name)
			}
			if r.UID == back.UID && nc.Name != replacement.Name {
				t.Errorf("displaced pod %s waits for NodeClaim %s, not for the replacement %s", back.Name, nc.Name, replacement.Name)
			}
		}
	}
	e.event(back, "Reserved", "NodeClaim "+replacement.Name)

	// Once the replacement is up: the first pod binds to it; the second
	// displaced pod, back after the node is up, binds there too, though the
	// node's free room, holds aside, is too small for it.
	if err := e.client.Get(e.ctx, client.ObjectKeyFromObject(replacement), replacement); err != nil {
		t.Fatal(err)
	}
	node := e.launch(replacement)
	if got := e.boundTo(back); got != node.Name {
		t.Errorf("displaced pod %s bound to %s, not to the replacement's node %s", back.Name, got, node.Name)
	}
	e.deletePods("shrunk-1")
	again := e.pods("shrunk-again", 1, "600m", sameController("shrunk"))[0]
	if got := e.boundTo(again); got != node.Name {
		t.Errorf("displaced pod %s bound to %s, not to the replacement's node %s", again.Name, got, node.Name)
	}
	if events := e.events(again); strings.Contains(events, "Room reserved") {
		t.Errorf("pod %s went through a batch: the scheduling cycle should have let it use the room held for it; its events:\n%s", again.Name, events)
	}
	if p, err := e.kube.CoreV1().Pods("default").Get(e.ctx, intruder.Name, metav1.GetOptions{}); err != nil || p.Spec.NodeName == node.Name {
		t.Errorf("pod %s took the replacement's room (%v)", intruder.Name, err)
	}
}

// sameController makes a pod as the named app's ReplicaSet would: a sibling
// of the pods owned() made for it.
func sameController(app string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Labels["app"] = app
		owned(p)
	}
}

func (e *env) cordon(nodeName string) {
	e.t.Helper()
	patch := []byte(`{"spec":{"unschedulable":true}}`)
	if _, err := e.kube.CoreV1().Nodes().Patch(e.ctx, nodeName, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		e.t.Fatal(err)
	}
}
