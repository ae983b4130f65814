package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/instance"
	"github.com/tailor-project/tailor/launcher/nodeclaim"
	"github.com/tailor-project/tailor/test/ec2sim"
)

// registrationTTL is the launcher's in TestFaults: long enough for every
// healthy simulated node to register, short enough to wait out once.
const registrationTTL = 15 * time.Second

// TestFaults: what AWS does wrong — no capacity where it is cheapest,
// throttling, an instance that never becomes a node — costs time, never a
// pod or an instance: every pod ends Running, and every live instance
// belongs to a NodeClaim. The scenarios run one after another on one
// cluster and one scheduler, each with its own NodePool; the simulator's
// faults are global.
func TestFaults(t *testing.T) {
	e := start(t, options{registrationTTL: registrationTTL})
	tests := []struct {
		name string
		// pool names the scenario's NodePool and its scenarioLabel.
		pool string
		run  func(e *env, pool *karpv1.NodePool)
	}{
		{"insufficient capacity at the cheapest offering", "ice", iceOnCheapest},
		{"RequestLimitExceeded bursts", "throttle", throttled},
		{"an instance that never joins", "never-join", neverJoins},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := e.forT(t)
			pool := scenarioPool(tc.pool, tc.pool, onDemand...)
			e.create(pool)
			t.Cleanup(func() {
				if err := e.cluster.Simulator.SetFaults(ec2sim.Faults{}); err != nil {
					t.Error(err)
				}
			})
			tc.run(e, pool)
			e.noOrphanInstances()
		})
	}
	claimsThrough(e)
}

// oneNodeEach is a workload of the pool's scenario whose pods each need a
// node of their own, and every workload of the scenario with them, so that
// each pod makes the plugin and the launcher decide anew.
func oneNodeEach(name string, pool *karpv1.NodePool, replicas int32) *appsv1.Deployment {
	scenario := pool.Spec.Template.ObjectMeta.Labels[scenarioLabel]
	d := scenarioWorkload(name, scenario, replicas, "1", func(s *corev1.PodSpec) {
		s.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				TopologyKey:   wellknown.HostnameLabel,
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{scenarioLabel: scenario}},
			}},
		}}
	})
	d.Spec.Template.Labels[scenarioLabel] = scenario
	return d
}

// iceOnCheapest: EC2 has no capacity for the type the plugin finds
// cheapest for the pod. The launcher launches the claim's next type in the
// same attempt and records what was refused; the plugin, told, plans the
// next pod without it.
func iceOnCheapest(e *env, pool *karpv1.NodePool) {
	first := oneNodeEach("ice-first", pool, 1)
	class := &ec2v1.EC2NodeClass{}
	if err := e.client.Get(e.ctx, client.ObjectKey{Name: "default"}, class); err != nil {
		e.t.Fatal(err)
	}
	plan := solve(e.t, e, []*karpv1.NodePool{pool}, map[string]*ec2v1.EC2NodeClass{"default": class}, replicasOf(first))
	if len(plan.Nodes) != 1 {
		e.t.Fatalf("the plan for one pod has %d nodes; unplaced: %v", len(plan.Nodes), plan.Unplaced)
	}
	// Every type as cheap as the plan: EC2's lowest-price strategy may pick
	// any of them.
	cheapest := sets.New[string]()
	var faults ec2sim.Faults
	for _, it := range plan.Nodes[0].InstanceTypes {
		for _, o := range it.Offerings {
			if o.Available && o.CapacityType == wellknown.CapacityTypeOnDemand && o.Price <= plan.Nodes[0].Price && !cheapest.Has(it.Name) {
				cheapest.Insert(it.Name)
				faults.InsufficientCapacity = append(faults.InsufficientCapacity, ec2sim.Pool{InstanceType: it.Name, CapacityType: wellknown.CapacityTypeOnDemand})
			}
		}
	}
	if err := e.cluster.Simulator.SetFaults(faults); err != nil {
		e.t.Fatal(err)
	}
	e.t.Logf("no capacity for %v, planned at $%.4f/h", sets.List(cheapest), plan.Nodes[0].Price)

	e.create(first)
	pods := e.running(first.Name, 1)
	claims := claimOfNode(e.mustClaims())
	for name, n := range e.nodesOf(pods) {
		if cheapest.Has(n.Labels[wellknown.InstanceTypeLabel]) {
			e.t.Errorf("node %s is a %s, which EC2 has no capacity for\n%s", name, n.Labels[wellknown.InstanceTypeLabel], e.dump())
		}
		nc := claims[name]
		if nc == nil {
			e.t.Fatalf("node %s has no NodeClaim\n%s", name, e.dump())
		}
		refused, err := wellknown.ParseUnavailableOfferings(nc.Annotations)
		if err != nil {
			e.t.Fatal(err)
		}
		recorded := false
		for _, o := range refused {
			recorded = recorded || cheapest.Has(o.InstanceType)
		}
		if !recorded {
			e.t.Errorf("NodeClaim %s does not record the refused offerings: %s=%q", nc.Name, wellknown.UnavailableOfferingsAnnotation, nc.Annotations[wellknown.UnavailableOfferingsAnnotation])
		}
	}

	second := oneNodeEach("ice-second", pool, 1)
	e.create(second)
	pods = e.running(second.Name, 1)
	claims = claimOfNode(e.mustClaims())
	for name := range e.nodesOf(pods) {
		nc := claims[name]
		if nc == nil {
			e.t.Fatalf("node %s has no NodeClaim\n%s", name, e.dump())
		}
		for _, r := range nc.Spec.Requirements {
			if r.Key == wellknown.InstanceTypeLabel && len(r.Values) > 0 && cheapest.Has(r.Values[0]) {
				e.t.Errorf("NodeClaim %s, planned after EC2 refused %v, still puts %s first", nc.Name, sets.List(cheapest), r.Values[0])
			}
		}
	}
}

// throttled: a burst in which EC2 refuses every call with
// RequestLimitExceeded, until the launcher has had to give up an attempt,
// then 30% of calls refused while three pods, each on its own node, are
// provisioned.
func throttled(e *env, pool *karpv1.NodePool) {
	before := e.procs.throttled.Load()
	if err := e.cluster.Simulator.SetFaults(ec2sim.Faults{ThrottleRate: 1}); err != nil {
		e.t.Fatal(err)
	}
	d := oneNodeEach("throttled", pool, 3)
	e.create(d)
	e.eventually("a NodeClaim of NodePool "+pool.Name+" is told EC2 throttles its launch", func() (bool, error) {
		events, err := e.claimEvents()
		if err != nil {
			return false, err
		}
		for name, evs := range events {
			for _, ev := range evs {
				if strings.HasPrefix(name, pool.Name+"-") && ev.Reason == nodeclaim.ReasonThrottled {
					return true, nil
				}
			}
		}
		return false, errors.New("no Throttled event yet")
	})
	if err := e.cluster.Simulator.SetFaults(ec2sim.Faults{ThrottleRate: 0.3}); err != nil {
		e.t.Fatal(err)
	}
	e.running(d.Name, 3)
	claimsThrough(e)
	e.t.Logf("EC2 refused %d of the launcher's calls for the request rate", e.procs.throttled.Load()-before)
}

// neverJoins: the first instance launched for the pod never registers its
// node. After the launcher's registration TTL its claim is deleted and its
// instance terminated, and the pod gets a node from a new claim.
func neverJoins(e *env, pool *karpv1.NodePool) {
	if err := e.cluster.Simulator.SetFaults(ec2sim.Faults{NeverJoin: []ec2sim.Pool{{}}}); err != nil {
		e.t.Fatal(err)
	}
	d := oneNodeEach("never-joins", pool, 1)
	e.create(d)
	var lost karpv1.NodeClaim
	e.eventually("a NodeClaim of NodePool "+pool.Name+" is Launched", func() (bool, error) {
		claims, err := e.claims()
		if err != nil {
			return false, err
		}
		for _, nc := range claims {
			if nc.Labels[wellknown.NodePoolLabel] == pool.Name && meta.IsStatusConditionTrue(nc.Status.Conditions, karpv1.ConditionTypeLaunched) {
				lost = nc
				return true, nil
			}
		}
		return false, fmt.Errorf("no launched NodeClaim of %s among %d", pool.Name, len(claims))
	})
	// The fault is the one instance's: its replacement joins.
	if err := e.cluster.Simulator.SetFaults(ec2sim.Faults{}); err != nil {
		e.t.Fatal(err)
	}
	lostID, err := instance.ParseProviderID(lost.Status.ProviderID)
	if err != nil {
		e.t.Fatal(err)
	}

	pods := e.running(d.Name, 1)
	for name, n := range e.nodesOf(pods) {
		if id, err := instance.ParseProviderID(n.Spec.ProviderID); err != nil || id == lostID {
			e.t.Errorf("the pod runs on %s, provider id %q: not a new instance (%v)", name, n.Spec.ProviderID, err)
		}
	}
	if err := e.client.Get(e.ctx, client.ObjectKeyFromObject(&lost), &karpv1.NodeClaim{}); !apierrors.IsNotFound(err) {
		e.t.Errorf("NodeClaim %s, whose instance never joined, is still there (%v)\n%s", lost.Name, err, e.dump())
	}
	if _, ok, err := e.eventWith("NodeClaim", lost.Name, "RegistrationTimeout", lost.Status.ProviderID); err != nil || !ok {
		e.t.Errorf("NodeClaim %s has no RegistrationTimeout event naming %s (%v)", lost.Name, lost.Status.ProviderID, err)
	}
	e.eventually("instance "+lostID+" is on its way out", func() (bool, error) {
		for _, inst := range e.cluster.Simulator.Instances() {
			if inst.ID != lostID {
				continue
			}
			if inst.Joins {
				return false, fmt.Errorf("instance %s joined after all", lostID)
			}
			if live(inst.State) {
				return false, fmt.Errorf("instance %s is %s", lostID, inst.State)
			}
			return true, nil
		}
		return false, fmt.Errorf("the simulator has no instance %s", lostID)
	})
}
