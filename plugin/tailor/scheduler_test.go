package tailor_test

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/reservation"
	"github.com/tailor-project/tailor/plugin/solver/optimum"
	"github.com/tailor-project/tailor/plugin/tailor"
)

func plannedPrice(t *testing.T, claims []karpv1.NodeClaim) float64 {
	total := 0.0
	for _, nc := range claims {
		p, err := strconv.ParseFloat(nc.Annotations[tailor.PriceAnnotation], 64)
		if err != nil {
			t.Fatalf("claim %s: price annotation %q: %v", nc.Name, nc.Annotations[tailor.PriceAnnotation], err)
		}
		total += p
	}
	return total
}

// TestInflateWalkthrough: ten inflate pods become the cheapest packing the
// catalog allows, each pod hears which claim is for it, and once the nodes
// come up every pod binds to the node bought for it.
func TestInflateWalkthrough(t *testing.T) {
	e := newEnv(t, "01-nodepool-basic.yaml")
	before := metricsNow()
	pods := e.pods("inflate", 10, "1")
	claims := e.claimsFor(pods)
	e.expectMetricsMoved(before, len(claims), len(pods))

	np := e.nodePool("default")
	class := &ec2v1.EC2NodeClass{}
	if err := e.client.Get(e.ctx, client.ObjectKey{Name: "default"}, class); err != nil {
		t.Fatal(err)
	}
	types, err := e.catalog.InstanceTypes(e.ctx, np, class)
	if err != nil {
		t.Fatal(err)
	}
	want := optimum.CheapestPacking(types, 1000, 1<<30, 10)
	// Prices are written with four decimals.
	if got := plannedPrice(t, claims); math.Abs(got-want) > 0.0001*float64(len(claims)) {
		t.Errorf("%d claims at $%.4f/h; the cheapest packing costs $%.4f/h", len(claims), got, want)
	}
	if len(claims) >= 10 {
		t.Errorf("%d claims for 10 pods", len(claims))
	}
	owner := map[string]string{}
	for _, nc := range claims {
		if nc.Labels[wellknown.NodePoolLabel] != "default" || nc.Labels["team"] != "platform" {
			t.Errorf("claim %s labels %v lack the pool's", nc.Name, nc.Labels)
		}
		if len(requirementValues(&nc, wellknown.InstanceTypeLabel)) < 2 {
			t.Errorf("claim %s leaves the launcher no choice of instance type", nc.Name)
		}
		recorded, _ := reservation.Decode(nc.Annotations[reservation.Annotation])
		for _, r := range recorded {
			owner[r.Name] = nc.Name
		}
	}
	note := e.event(pods[0], tailor.ReasonNodeClaimCreated, "NodeClaim "+owner[pods[0].Name]+": ")
	if !strings.Contains(note, "$") || !strings.Contains(note, "for ") {
		t.Errorf("event %q does not give the price and the pods", note)
	}

	for i := range claims {
		e.launch(&claims[i])
	}
	for _, p := range pods {
		if node := e.boundTo(p); node != owner[p.Name] {
			t.Errorf("pod %s bound to %s, its claim's node is %s", p.Name, node, owner[p.Name])
		}
	}
}

// TestReservedRoomIsNotTaken: a pod that reaches a new node before the pod
// it was bought for is refused the promised room, and the owner gets it.
func TestReservedRoomIsNotTaken(t *testing.T) {
	e := newEnv(t, "01-nodepool-basic.yaml")
	owner := e.pods("owner", 1, "1500m")[0]
	ownerClaims := e.claimsFor([]*corev1.Pod{owner})

	// The intruder does not fit beside the owner's reservation, so it gets
	// a claim of its own, which the test never launches. It tolerates a
	// taint the owner's node comes up with, so it is weighed against that
	// node while the owner cannot use it yet.
	hold := corev1.Taint{Key: "test/hold", Value: "owner-not-yet", Effect: corev1.TaintEffectNoSchedule}
	intruder := e.pods("intruder", 1, "1", func(p *corev1.Pod) {
		p.Spec.Tolerations = []corev1.Toleration{{Key: hold.Key, Operator: corev1.TolerationOpExists}}
	})[0]
	e.claimsFor([]*corev1.Pod{owner, intruder})

	node := e.launch(&ownerClaims[0], hold)
	if free := node.Status.Allocatable.Cpu().MilliValue(); free < 1000 {
		t.Fatalf("test premise: node %s has %dm CPU; the intruder must fit it but for the reservation", node.Name, free)
	}
	e.event(intruder, "FailedScheduling", "reserved for the pods nodeclaim/"+ownerClaims[0].Name)

	e.untaint(node.Name, hold.Key)
	if got := e.boundTo(owner); got != node.Name {
		t.Errorf("the owner bound to %s, not to its node %s", got, node.Name)
	}
	got, err := e.kube.CoreV1().Pods("default").Get(e.ctx, intruder.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.NodeName != "" {
		t.Errorf("the intruder bound to %s", got.Spec.NodeName)
	}
}

// TestRestartDoesNotBuyAgain: a scheduler restarted between claim creation
// and node registration rebuilds its reservations from the claims.
func TestRestartDoesNotBuyAgain(t *testing.T) {
	e := newEnv(t, "01-nodepool-basic.yaml")
	pods := e.pods("before", 4, "1")
	before := e.claimsFor(pods)

	e.stopScheduler()
	e.startScheduler()
	// A batch solved after the restart proves the old pods were weighed.
	late := e.pods("after", 1, "1")
	after := e.claimsFor(append(append([]*corev1.Pod{}, pods...), late...))
	if len(after) > len(before)+1 {
		t.Errorf("%d claims before the restart, %d after one more pod", len(before), len(after))
	}
	for _, nc := range before {
		found := false
		for _, a := range after {
			found = found || a.Name == nc.Name
		}
		if !found {
			t.Errorf("claim %s disappeared over the restart", nc.Name)
		}
	}
}

// TestUnneededClaimIsWithdrawn: a claim whose pods are deleted before it
// launches goes away.
func TestUnneededClaimIsWithdrawn(t *testing.T) {
	e := newEnv(t, "01-nodepool-basic.yaml")
	p := e.pods("short-lived", 1, "1")[0]
	nc := e.claimsFor([]*corev1.Pod{p})[0]
	if err := e.kube.CoreV1().Pods("default").Delete(e.ctx, p.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(e.ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		err := e.client.Get(ctx, client.ObjectKey{Name: nc.Name}, &karpv1.NodeClaim{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if err != nil {
		t.Fatalf("claim %s of a deleted pod was not withdrawn: %v", nc.Name, err)
	}
}

// TestConstraints: the profile's own rules shape the claims.
func TestConstraints(t *testing.T) {
	e := newEnv(t, "01-nodepool-basic.yaml")
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread"}}
	spread := e.pods("spread", 3, "500m", func(p *corev1.Pod) {
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: wellknown.ZoneLabel, WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: selector}}
	})
	claims := e.claimsFor(spread)
	zonesSeen := map[string]bool{}
	for _, nc := range claims {
		z := requirementValues(&nc, wellknown.ZoneLabel)
		if len(z) != 1 {
			t.Fatalf("claim %s for a zonal spread is not in one zone: %v", nc.Name, z)
		}
		zonesSeen[z[0]] = true
	}
	if len(claims) != 3 || len(zonesSeen) != 3 {
		t.Errorf("3 spread pods: %d claims in zones %v, want 3 claims in 3 zones", len(claims), zonesSeen)
	}

	anti := e.pods("anti", 3, "250m", func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			TopologyKey: wellknown.HostnameLabel, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "anti"}}}}}}
	})
	all := e.claimsFor(append(append([]*corev1.Pod{}, spread...), anti...))
	for _, nc := range all {
		recorded, _ := reservation.Decode(nc.Annotations[reservation.Annotation])
		antiOn := 0
		for _, r := range recorded {
			if strings.HasPrefix(r.Name, "anti-") {
				antiOn++
			}
		}
		if antiOn > 1 {
			t.Errorf("claim %s holds %d pods with hostname anti-affinity", nc.Name, antiOn)
		}
	}

	arm := e.pods("arm", 1, "1", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{wellknown.ArchLabel: wellknown.ArchARM64} })
	for _, nc := range e.claimsFor(arm) {
		recorded, _ := reservation.Decode(nc.Annotations[reservation.Annotation])
		if len(recorded) == 1 && recorded[0].Name == arm[0].Name {
			for _, it := range requirementValues(&nc, wellknown.InstanceTypeLabel) {
				if !strings.Contains(strings.SplitN(it, ".", 2)[0], "g") {
					t.Errorf("arm64 pod offered %s", it)
				}
			}
			if a := requirementValues(&nc, wellknown.ArchLabel); len(a) != 1 || a[0] != wellknown.ArchARM64 {
				t.Errorf("arm64 pod's claim requires arch %v", a)
			}
		}
	}
}

// TestWeightsAndUnplaceablePods: the heavier pool wins, and a pod nothing
// can host is told why instead of waiting silently.
func TestWeightsAndUnplaceablePods(t *testing.T) {
	e := newEnv(t, "02-nodepools-production-development.yaml")
	for _, name := range []string{"production", "development"} {
		class := &ec2v1.EC2NodeClass{}
		if err := e.client.Get(e.ctx, client.ObjectKey{Name: "default"}, class); err != nil {
			t.Fatal(err)
		}
		class.ObjectMeta = metav1.ObjectMeta{Name: name}
		if err := e.client.Create(e.ctx, class); err != nil {
			t.Fatal(err)
		}
	}
	pods := e.pods("weighted", 2, "1")
	for _, nc := range e.claimsFor(pods) {
		if nc.Labels[wellknown.NodePoolLabel] != "production" {
			t.Errorf("claim %s from pool %s; production weighs 100, development 10", nc.Name, nc.Labels[wellknown.NodePoolLabel])
		}
		if ct := requirementValues(&nc, wellknown.CapacityTypeLabel); len(ct) != 1 || ct[0] != wellknown.CapacityTypeOnDemand {
			t.Errorf("production claim %s allows capacity types %v", nc.Name, ct)
		}
	}
	huge := e.pods("huge", 1, "500")[0]
	e.event(huge, tailor.ReasonCannotProvision, "no instance type has room for the pod's requests")
	var list karpv1.NodeClaimList
	if err := e.client.List(e.ctx, &list); err != nil {
		t.Fatal(err)
	}
	for _, nc := range list.Items {
		recorded, _ := reservation.Decode(nc.Annotations[reservation.Annotation])
		for _, r := range recorded {
			if r.Name == huge.Name {
				t.Errorf("claim %s made for a pod no type can hold", nc.Name)
			}
		}
	}
}

// TestEmptyNodesGoAway: once its pods are gone, a node's claim is deleted
// after the pool's consolidateAfter; a node marked do-not-disrupt stays.
func TestEmptyNodesGoAway(t *testing.T) {
	e := newEnv(t, "01-nodepool-basic.yaml")
	np := e.nodePool("default")
	np.Spec.Disruption.ConsolidateAfter = karpv1.MustParseNillableDuration("1s")
	// The seed's weekday window with no disruption would make the test
	// depend on the hour it runs.
	np.Spec.Disruption.Budgets = []karpv1.Budget{{Nodes: "100%"}}
	if err := e.client.Update(e.ctx, np); err != nil {
		t.Fatal(err)
	}
	pods := e.pods("gone", 2, "1", func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			TopologyKey: wellknown.HostnameLabel, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "gone"}}}}}}
	})
	claims := e.claimsFor(pods)
	if len(claims) != 2 {
		t.Fatalf("%d claims for 2 pods that must not share a node", len(claims))
	}
	emptied := scraped("karpenter_nodeclaims_disrupted_total", map[string]string{"reason": "empty", "nodepool": "default"})
	var nodes []*corev1.Node
	for i := range claims {
		nodes = append(nodes, e.launch(&claims[i]))
	}
	nodes[0].Annotations = map[string]string{wellknown.DoNotDisruptAnnotation: "true"}
	if _, err := e.kube.CoreV1().Nodes().Update(e.ctx, nodes[0], metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		e.boundTo(p)
		if err := e.kube.CoreV1().Pods("default").Delete(e.ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptrTo(int64(0))}); err != nil {
			t.Fatal(err)
		}
	}
	err := wait.PollUntilContextTimeout(e.ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var list karpv1.NodeClaimList
		if err := e.client.List(ctx, &list); err != nil {
			return false, err
		}
		return len(list.Items) == 1 && list.Items[0].Name == claims[0].Name, nil
	})
	if err != nil {
		t.Fatalf("want only the do-not-disrupt node's claim %s left: %v", claims[0].Name, err)
	}
	ev, err := e.kube.EventsV1().Events("").List(e.ctx, metav1.ListOptions{FieldSelector: "regarding.name=" + claims[1].Name + ",reason=Disrupting"})
	if err != nil || len(ev.Items) == 0 || !strings.Contains(ev.Items[0].Note, "consolidateAfter") {
		t.Errorf("no Disrupting event saying why on %s: %v %v", claims[1].Name, ev, err)
	}
	if got := scraped("karpenter_nodeclaims_disrupted_total", map[string]string{"reason": "empty", "nodepool": "default"}) - emptied; got != 1 {
		t.Errorf("karpenter_nodeclaims_disrupted_total{reason=empty} moved by %v for one empty node taken away", got)
	}
	if got := scraped("karpenter_voluntary_disruption_decisions_total", map[string]string{"reason": "empty", "decision": "delete"}); got < 1 {
		t.Errorf("karpenter_voluntary_disruption_decisions_total{reason=empty,decision=delete} is %v", got)
	}
}

func ptrTo[T any](v T) *T { return &v }
