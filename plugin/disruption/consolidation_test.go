package disruption

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
)

func TestConsolidatableCondition(t *testing.T) {
	since := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		after string
		now   time.Duration
		want  bool
	}{
		{name: "not yet", after: "1m", now: 59 * time.Second},
		{name: "after consolidateAfter", after: "1m", now: time.Minute, want: true},
		{name: "zero is at once", after: "0s", want: true},
		{name: "never", after: "Never", now: 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := consolidatableCondition(karpv1.MustParseNillableDuration(tc.after), since, since.Add(tc.now))
			if (c != nil) != tc.want {
				t.Fatalf("condition %v, want one: %v", c, tc.want)
			}
			if c != nil && (c.Status != metav1.ConditionTrue || c.Type != karpv1.ConditionTypeConsolidatable) {
				t.Errorf("condition %+v", c)
			}
		})
	}
}

func TestFingerprintChangesWithPods(t *testing.T) {
	a, b := pod("a", nil), pod("b", nil)
	daemon := pod("d", nil)
	yes := true
	daemon.OwnerReferences = []metav1.OwnerReference{{Kind: "DaemonSet", Name: "ds", Controller: &yes}}
	if fingerprint([]*corev1.Pod{a, b}) != fingerprint([]*corev1.Pod{b, a}) {
		t.Error("the order of the pods changed the fingerprint")
	}
	if fingerprint([]*corev1.Pod{a}) == fingerprint([]*corev1.Pod{a, b}) {
		t.Error("adding a pod did not change the fingerprint")
	}
	if fingerprint([]*corev1.Pod{a}) != fingerprint([]*corev1.Pod{a, daemon}) {
		t.Error("a DaemonSet pod changed the fingerprint")
	}
}

func TestDisruptionCostOrder(t *testing.T) {
	high := int32(1000)
	one := []*corev1.Pod{pod("a", nil)}
	two := []*corev1.Pod{pod("a", nil), pod("b", nil)}
	costly := []*corev1.Pod{pod("a", map[string]string{podDeletionCostAnnotation: "100000"})}
	important := []*corev1.Pod{pod("a", nil)}
	important[0].Spec.Priority = &high
	if !(disruptionCost(one) < disruptionCost(two)) {
		t.Error("one pod does not cost less than two")
	}
	if !(disruptionCost(one) < disruptionCost(costly)) || !(disruptionCost(one) < disruptionCost(important)) {
		t.Error("pod-deletion-cost or priority does not raise the cost")
	}
	if !(disruptionCost(costly) < disruptionCost(two)) {
		t.Error("a deletion cost outweighs a whole pod")
	}
}

func TestEvictionBlocker(t *testing.T) {
	zero := intstr.FromInt32(0)
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := indexer.Add(&policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "guard", Namespace: "default"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &zero, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "guarded"}}},
	}); err != nil {
		t.Fatal(err)
	}
	c := &consolidation{Env: Env{PDBs: policylisters.NewPodDisruptionBudgetLister(indexer)}}
	free := pod("free", nil)
	guarded := pod("guarded", nil)
	guarded.Labels = map[string]string{"app": "guarded"}
	bare := pod("bare", nil)
	bare.OwnerReferences = nil
	if why := c.evictionBlocker([]*corev1.Pod{free}); why != "" {
		t.Errorf("a controlled pod with no PDB blocks: %s", why)
	}
	if why := c.evictionBlocker([]*corev1.Pod{free, guarded}); why == "" {
		t.Error("a pod whose PDB allows no eviction does not block")
	}
	if why := c.evictionBlocker([]*corev1.Pod{bare}); why == "" {
		t.Error("a pod no controller would recreate does not block")
	}
}

func TestCheaperSpotTypes(t *testing.T) {
	mk := func(name string, price float64, zone string) *catalog.InstanceType {
		return &catalog.InstanceType{Name: name, Offerings: catalog.Offerings{
			{Zone: zone, CapacityType: wellknown.CapacityTypeSpot, Price: price, Available: true},
			{Zone: zone, CapacityType: wellknown.CapacityTypeOnDemand, Price: price / 2, Available: true},
		}}
	}
	types := []*catalog.InstanceType{mk("a", 0.05, "us-east-1a"), mk("b", 0.09, "us-east-1a"), mk("c", 0.2, "us-east-1a"), mk("d", 0.01, "us-east-1b")}
	reqs := requirements.FromLabels(map[string]string{wellknown.ZoneLabel: "us-east-1a"})
	got := cheaperSpotTypes(types, reqs, 0.1)
	if len(got) != 2 || got[0].Name != "a" || got[1].Name != "b" {
		var names []string
		for _, it := range got {
			names = append(names, it.Name)
		}
		t.Errorf("cheaper spot types in us-east-1a below $0.10: %v, want [a b]", names)
	}
}

func pod(name string, annotations map[string]string) *corev1.Pod {
	yes := true
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), Annotations: annotations,
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "rs", Controller: &yes}}}}
}
