package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"
	schedulingv1alpha1 "sigs.k8s.io/scheduler-plugins/apis/scheduling/v1alpha1"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/gang"
	"github.com/tailor-project/tailor/plugin/tailor"
	"github.com/tailor-project/tailor/test/ec2sim"
)

// gangSize is the gangs' minMember and replicas: a distributed job of eight
// workers, each asking for 4 vCPU.
const gangSize = 8

// TestGangs: the pods of a PodGroup get capacity all together or not at
// all, with Coscheduling in the profile beside Tailor, as
// manifests/scheduler/config.yaml runs them. The scenarios share one
// cluster; each has its own NodePools.
func TestGangs(t *testing.T) {
	e := start(t, options{})
	bought := e.watchPurchases()

	t.Run("whole gang in one batch", func(t *testing.T) {
		e := e.forT(t)
		e.create(scenarioPool("gang-whole", "gang-whole", onDemand...))
		// Half the gang, and the other half after several batch idle
		// times but within batchMaxDuration: the batch waits for them.
		d := e.createGang("whole", "gang-whole", nil)
		e.scale(d.Name, gangSize/2)
		time.Sleep(2 * time.Second)
		if claims := e.claimsOfPoolNow("gang-whole"); len(claims) > 0 {
			t.Errorf("NodeClaims %s were created for half a gang", claims[0].Name)
		}
		e.scale(d.Name, gangSize)
		pods := e.running(d.Name, gangSize)
		claims := e.claimsOfPool("gang-whole")
		first, last := claims[0].CreationTimestamp.Time, claims[len(claims)-1].CreationTimestamp.Time
		// One batch writes its claims one after the other, within a
		// second (creation times have a second's resolution); a second
		// batch comes no sooner than the batch's idle time after pods
		// that are scheduled again.
		if last.Sub(first) > time.Second {
			t.Errorf("the gang's %d NodeClaims were created from %s to %s: not in one batch\n%s", len(claims), first, last, e.dump())
		}
		for _, p := range pods {
			if _, ok, err := e.eventWith("Pod", p.Name, tailor.ReasonNodeClaimCreated, "NodeClaim"); err != nil || !ok {
				t.Errorf("pod %s has no %s event: %v", p.Name, tailor.ReasonNodeClaimCreated, err)
			}
		}
		t.Logf("%d pods of 4 vCPU on %d NodeClaims created within %s", len(pods), len(claims), last.Sub(first))
	})

	t.Run("limit too small for the gang buys nothing", func(t *testing.T) {
		e := e.forT(t)
		limited := scenarioPool("gang-limited", "gang-limited", onDemand...)
		// 8 pods of 4 vCPU need more than 32 vCPU of nodes; 28 vCPU hold
		// some of them, never all.
		limited.Spec.Limits = karpv1.Limits{corev1.ResourceCPU: resource.MustParse("28")}
		e.create(limited)
		e.createGang("limited", "gang-limited", nil)
		e.scale("limited", gangSize)
		e.eventually("every pod of the gang is told it cannot start", func() (bool, error) {
			pods, err := e.pods("limited")
			if err != nil {
				return false, err
			}
			if len(pods) != gangSize {
				return false, fmt.Errorf("%d pods", len(pods))
			}
			for _, p := range pods {
				ev, ok, err := e.eventWith("Pod", p.Name, tailor.ReasonCannotProvision, "gang "+namespace+"/limited cannot start")
				if err != nil || !ok {
					return false, fmt.Errorf("pod %s has no CannotProvision event naming the gang: %v", p.Name, err)
				}
				if !strings.Contains(ev.Message, "limits") {
					return false, fmt.Errorf("pod %s's event does not name the limit: %s", p.Name, ev.Message)
				}
			}
			return true, nil
		})
		// Long enough for a batch to close again, had the pods come back.
		time.Sleep(3 * time.Second)
		if claims := e.claimsOfPoolNow("gang-limited"); len(claims) > 0 {
			t.Errorf("NodeClaims %v were created for a gang that cannot start\n%s", claims, e.dump())
		}
		ev, _, _ := e.eventWith("Pod", e.mustPods("limited")[0].Name, tailor.ReasonCannotProvision, "gang")
		t.Logf("a pod of the gang was told: %s", ev.Message)
	})

	t.Run("insufficient capacity for the first choice", func(t *testing.T) {
		e := e.forT(t)
		// One zone and two sizes; EC2 has none of the cheaper size there.
		pool := scenarioPool("gang-ice", "gang-ice",
			req(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, wellknown.CapacityTypeOnDemand),
			req(wellknown.ZoneLabel, corev1.NodeSelectorOpIn, "us-east-1b"),
			req(wellknown.InstanceTypeLabel, corev1.NodeSelectorOpIn, "c7i.2xlarge", "m7i.2xlarge"))
		e.create(pool)
		refused := ec2sim.Pool{InstanceType: "c7i.2xlarge", Zone: "us-east-1b", CapacityType: wellknown.CapacityTypeOnDemand}
		if err := e.cluster.Simulator.SetFaults(ec2sim.Faults{InsufficientCapacity: []ec2sim.Pool{refused}}); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := e.cluster.Simulator.SetFaults(ec2sim.Faults{}); err != nil {
				t.Error(err)
			}
		}()
		pods := e.gang("ice", "gang-ice", nil)
		used := sets.New[string]()
		for _, p := range pods {
			used.Insert(p.Spec.NodeName)
		}
		for _, n := range e.poolNodes("gang-ice") {
			if n.Labels[wellknown.InstanceTypeLabel] == refused.InstanceType {
				t.Errorf("node %s is a %s in %s, where EC2 has none", n.Name, refused.InstanceType, refused.Zone)
			}
			if !used.Has(n.Name) {
				t.Errorf("node %s (%s) runs no pod of the gang: bought and idle", n.Name, describeNode(n))
			}
		}
	})

	t.Run("zonal affinity puts the gang in one zone", func(t *testing.T) {
		e := e.forT(t)
		e.create(scenarioPool("gang-zone", "gang-zone", onDemand...))
		pods := e.gang("zonal", "gang-zone", func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
					TopologyKey:   wellknown.ZoneLabel,
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{gang.Label: "zonal"}},
				}},
			}}
		})
		zones := sets.New[string]()
		for _, n := range e.nodesOf(pods) {
			zones.Insert(n.Labels[wellknown.ZoneLabel])
		}
		if zones.Len() != 1 {
			t.Errorf("the gang runs in zones %v, want one\n%s", sets.List(zones), e.dump())
		}
	})

	e.nothingBoughtTwice(bought)
	e.noOrphanInstances()
	claimsThrough(e)
}

// createGang creates a PodGroup of gangSize and a Deployment of no pods
// yet, each to ask for 4 vCPU on the scenario's nodes; scale it.
func (e *env) createGang(name, scenario string, shape func(*corev1.PodSpec)) *appsv1.Deployment {
	e.t.Helper()
	e.create(&schedulingv1alpha1.PodGroup{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       schedulingv1alpha1.PodGroupSpec{MinMember: gangSize, ScheduleTimeoutSeconds: ptr.To[int32](300)},
	})
	d := scenarioWorkload(name, scenario, gangSize, "4", shape)
	d.Spec.Replicas = ptr.To[int32](0)
	d.Spec.Template.Labels[gang.Label] = name
	e.create(d)
	return d
}

// gang creates a gang and waits until all of its pods run.
func (e *env) gang(name, scenario string, shape func(*corev1.PodSpec)) []corev1.Pod {
	e.t.Helper()
	e.createGang(name, scenario, shape)
	e.scale(name, gangSize)
	return e.running(name, gangSize)
}

func (e *env) mustPods(app string) []corev1.Pod {
	e.t.Helper()
	pods, err := e.pods(app)
	if err != nil || len(pods) == 0 {
		e.t.Fatalf("no pods of %s: %v", app, err)
	}
	return pods
}

// claimsOfPoolNow are a pool's NodeClaims, oldest first.
func (e *env) claimsOfPoolNow(pool string) []karpv1.NodeClaim {
	e.t.Helper()
	var out []karpv1.NodeClaim
	for _, nc := range e.mustClaims() {
		if nc.Labels[wellknown.NodePoolLabel] == pool {
			out = append(out, nc)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreationTimestamp.Before(&out[j].CreationTimestamp) })
	return out
}

// claimsOfPool are a pool's NodeClaims, oldest first; there must be some.
func (e *env) claimsOfPool(pool string) []karpv1.NodeClaim {
	e.t.Helper()
	claims := e.claimsOfPoolNow(pool)
	if len(claims) == 0 {
		e.t.Fatalf("NodePool %s has no NodeClaim\n%s", pool, e.dump())
	}
	return claims
}

// poolNodes are the nodes of a pool's NodeClaims.
func (e *env) poolNodes(pool string) []*corev1.Node {
	e.t.Helper()
	var out []*corev1.Node
	for _, nc := range e.claimsOfPool(pool) {
		if nc.Status.NodeName == "" {
			continue
		}
		n, err := e.kube.CoreV1().Nodes().Get(e.ctx, nc.Status.NodeName, metav1.GetOptions{})
		if err != nil {
			e.t.Fatalf("reading node %s of NodeClaim %s: %v", nc.Status.NodeName, nc.Name, err)
		}
		out = append(out, n)
	}
	return out
}
