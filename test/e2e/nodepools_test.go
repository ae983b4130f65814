package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/fleet"
	"github.com/tailor-project/tailor/plugin/tailor"
	"github.com/tailor-project/tailor/test/ec2sim"
)

// nodeRule is one thing the guide says about the nodes a NodePool makes.
type nodeRule struct {
	label string
	// allowed values; a nil set with gt > 0 compares numerically.
	allowed sets.Set[string]
	gt      int
}

func in(label string, values ...string) nodeRule {
	return nodeRule{label: label, allowed: sets.New(values...)}
}

func gt(label string, n int) nodeRule { return nodeRule{label: label, gt: n} }

// violation says how a node breaks the rule, or "".
func (r nodeRule) violation(n *corev1.Node) string {
	v, ok := n.Labels[r.label]
	switch {
	case !ok:
		return fmt.Sprintf("has no label %s", r.label)
	case r.allowed != nil && !r.allowed.Has(v):
		return fmt.Sprintf("has %s=%s, not one of %v", r.label, v, sets.List(r.allowed))
	case r.allowed == nil:
		if i, err := strconv.Atoi(v); err != nil || i <= r.gt {
			return fmt.Sprintf("has %s=%s, not greater than %d", r.label, v, r.gt)
		}
	}
	return ""
}

var guideSizes = []string{"large", "xlarge", "2xlarge", "4xlarge"}

// TestSeedNodePools: every seed NodePool file, applied unchanged to the
// simulated account, makes the nodes the guide says it makes. The
// scenarios share one cluster; each starts from no NodePool, with a fresh
// scheduler and launcher. The basic pool (01) is TestWalkthrough's.
func TestSeedNodePools(t *testing.T) {
	e := start(t, options{})
	tests := []struct {
		name string
		// files are applied unchanged; classes are copies of the seed's
		// EC2NodeClass the files reference but do not define.
		files   []string
		classes []string
		faults  ec2sim.Faults
		// pool is where every pod has to land, class the EC2NodeClass its
		// claims use, rules what its nodes are.
		pool, class string
		rules       []nodeRule
		// tried is a NodePool whose claims EC2 must have refused first.
		tried string
	}{
		{
			name:  "02 production outweighs development",
			files: []string{"02-nodepools-production-development.yaml"}, classes: []string{"production", "development"},
			pool: "production", class: "production",
			rules: []nodeRule{
				in(wellknown.CapacityTypeLabel, wellknown.CapacityTypeOnDemand),
				in(wellknown.InstanceCategoryLabel, "m", "r"),
				gt(wellknown.InstanceGenerationLabel, 5),
				in("workload-type", "production"),
			},
		},
		{
			// The pool names no nodeClassRef: the API server defaults it to
			// the EC2NodeClass "default".
			name:  "04 spot-optimized launches spot only",
			files: []string{"04-nodepool-spot-optimized.yaml"},
			pool:  "spot-optimized", class: "default",
			rules: []nodeRule{
				in(wellknown.CapacityTypeLabel, wellknown.CapacityTypeSpot),
				in(wellknown.InstanceCategoryLabel, "c", "m", "r"),
				gt(wellknown.InstanceGenerationLabel, 4),
				in(wellknown.InstanceSizeLabel, guideSizes...),
			},
		},
		{
			name:  "05 spot-diverse launches spot only",
			files: []string{"05-nodepool-spot-diverse.yaml"},
			pool:  "spot-diverse", class: "default",
			rules: []nodeRule{
				in(wellknown.CapacityTypeLabel, wellknown.CapacityTypeSpot),
				in(wellknown.InstanceCategoryLabel, "c", "m", "r"),
				in(wellknown.InstanceGenerationLabel, "5", "6", "7"),
				in(wellknown.InstanceSizeLabel, guideSizes...),
				in(wellknown.ZoneLabel, "us-east-1a", "us-east-1b", "us-east-1c"),
			},
		},
		{
			name:  "07 production-full",
			files: []string{"07-production-full.yaml"},
			pool:  "production", class: "production",
			rules: []nodeRule{
				in(wellknown.CapacityTypeLabel, wellknown.CapacityTypeOnDemand),
				in(wellknown.InstanceCategoryLabel, "c", "m", "r"),
				gt(wellknown.InstanceGenerationLabel, 5),
				in(wellknown.ArchLabel, wellknown.ArchAMD64),
				in("environment", "production"),
				in("managed-by", "karpenter"),
			},
		},
		{
			// Spot has no capacity anywhere: spot-first's claims are refused
			// and the pods go to the fallback.
			name:   "06 on-demand fallback when spot is short",
			files:  []string{"06-nodepools-spot-first-ondemand-fallback.yaml"},
			faults: ec2sim.Faults{InsufficientCapacity: []ec2sim.Pool{{CapacityType: wellknown.CapacityTypeSpot}}},
			pool:   "on-demand-fallback", class: "default",
			rules: []nodeRule{in(wellknown.CapacityTypeLabel, wellknown.CapacityTypeOnDemand)},
			tried: "spot-first",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := e.forT(t)
			e.reset()
			for _, name := range tc.classes {
				e.copyClass(name)
			}
			for _, f := range tc.files {
				e.apply(f)
			}
			if err := e.cluster.Simulator.SetFaults(tc.faults); err != nil {
				t.Fatal(err)
			}
			e.restart()
			e.classesReady()

			e.create(deployment("guide", 4, "1"))
			pods := e.running("guide", 4)
			claims := claimOfNode(e.mustClaims())
			for name, n := range e.nodesOf(pods) {
				if pool := n.Labels[wellknown.NodePoolLabel]; pool != tc.pool {
					t.Errorf("node %s is NodePool %s's, want %s's\n%s", name, pool, tc.pool, e.dump())
				}
				for _, r := range tc.rules {
					if why := r.violation(n); why != "" {
						t.Errorf("node %s %s\n%s", name, why, describeNode(n))
					}
				}
				switch nc := claims[name]; {
				case nc == nil:
					t.Errorf("node %s has no NodeClaim\n%s", name, e.dump())
				case nc.Spec.NodeClassRef == nil || nc.Spec.NodeClassRef.Name != tc.class:
					t.Errorf("NodeClaim %s of node %s does not use EC2NodeClass %s: %+v", nc.Name, name, tc.class, nc.Spec.NodeClassRef)
				}
			}
			if tc.tried != "" {
				e.refusedFirst(tc.tried)
			}
			e.noOrphanInstances()
		})
	}

	t.Run("06 limits stop claims", func(t *testing.T) {
		e := e.forT(t)
		e.reset()
		e.apply("06-nodepools-spot-first-ondemand-fallback.yaml")
		e.restart()
		e.classesReady()
		e.limits()
		e.noOrphanInstances()
	})
}

// limits: pods of 100 CPU fill spot-first (500 CPU) with at most four
// nodes, then on-demand-fallback (200 CPU) with at most one; the rest wait,
// told why. What each pool holds is judged by the capacity its claims
// launched with.
func (e *env) limits() {
	e.t.Helper()
	const pods = 6
	e.create(deployment("big", pods, "100"))
	var settled []corev1.Pod
	e.eventually("every pod of big runs or has been told the pools' limits leave no room", func() (bool, error) {
		list, err := e.pods("big")
		if err != nil {
			return false, err
		}
		if len(list) != pods {
			return false, fmt.Errorf("%d pods", len(list))
		}
		for _, p := range list {
			if p.Status.Phase == corev1.PodRunning {
				continue
			}
			_, told, err := e.eventWith("Pod", p.Name, tailor.ReasonCannotProvision, "limits")
			if err != nil || !told {
				return false, fmt.Errorf("pod %s is %s and has no %s event about limits (%v)", p.Name, p.Status.Phase, tailor.ReasonCannotProvision, err)
			}
		}
		claims, err := e.claims()
		if err != nil {
			return false, err
		}
		for _, nc := range claims {
			if !meta.IsStatusConditionTrue(nc.Status.Conditions, karpv1.ConditionTypeInitialized) {
				return false, fmt.Errorf("NodeClaim %s is not Initialized", nc.Name)
			}
		}
		settled = list
		return true, nil
	})

	limits := map[string]int64{"spot-first": 500, "on-demand-fallback": 200}
	used := map[string]*resource.Quantity{}
	for _, nc := range e.mustClaims() {
		pool := nc.Labels[wellknown.NodePoolLabel]
		if used[pool] == nil {
			used[pool] = resource.NewQuantity(0, resource.DecimalSI)
		}
		used[pool].Add(nc.Status.Capacity[corev1.ResourceCPU])
	}
	for pool, limit := range limits {
		if u := used[pool]; u != nil && u.Cmp(*resource.NewQuantity(limit, resource.DecimalSI)) > 0 {
			e.t.Errorf("NodePool %s's claims hold %s CPUs, over its limit of %d\n%s", pool, u, limit, e.dump())
		}
	}
	onPool, waiting := map[string]int{}, 0
	nodes := e.nodesOf(settled)
	for _, p := range settled {
		if n := nodes[p.Spec.NodeName]; n != nil {
			onPool[n.Labels[wellknown.NodePoolLabel]]++
		} else {
			waiting++
		}
	}
	if onPool["spot-first"] == 0 || onPool["on-demand-fallback"] == 0 || waiting == 0 {
		e.t.Errorf("pods on spot-first: %d, on on-demand-fallback: %d, waiting: %d; want some of each\n%s",
			onPool["spot-first"], onPool["on-demand-fallback"], waiting, e.dump())
	}
}

// refusedFirst checks that a NodeClaim of the pool was given up for lack of
// capacity: the pods landed elsewhere because EC2 said no, not because the
// pool was passed over.
func (e *env) refusedFirst(pool string) {
	e.t.Helper()
	events, err := e.claimEvents()
	if err != nil {
		e.t.Fatal(err)
	}
	for name, evs := range events {
		if !strings.HasPrefix(name, pool+"-") {
			continue
		}
		for _, ev := range evs {
			if ev.Reason == fleet.ReasonInsufficientCapacity {
				return
			}
		}
	}
	e.t.Errorf("no NodeClaim of NodePool %s has an %s event: was it ever tried?\n%s", pool, fleet.ReasonInsufficientCapacity, e.dump())
}

// reset takes the cluster back to the seed's EC2NodeClass alone: no
// workload, NodePool, NodeClaim, node or other class, and no fault.
func (e *env) reset() {
	e.t.Helper()
	if err := e.cluster.Simulator.SetFaults(ec2sim.Faults{}); err != nil {
		e.t.Fatal(err)
	}
	deps, err := e.kube.AppsV1().Deployments(namespace).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, d := range deps.Items {
		e.deleteWorkload(d.Name)
	}
	for _, obj := range []client.Object{&karpv1.NodePool{}, &karpv1.NodeClaim{}} {
		if err := e.client.DeleteAllOf(e.ctx, obj); err != nil {
			e.t.Fatalf("deleting every %T: %v", obj, err)
		}
	}
	var classes ec2v1.EC2NodeClassList
	if err := e.client.List(e.ctx, &classes); err != nil {
		e.t.Fatal(err)
	}
	for i := range classes.Items {
		if nc := &classes.Items[i]; nc.Name != "default" {
			if err := e.client.Delete(e.ctx, nc); client.IgnoreNotFound(err) != nil {
				e.t.Fatalf("deleting EC2NodeClass %s: %v", nc.Name, err)
			}
		}
	}
	e.eventually("the last scenario's NodePools, NodeClaims, nodes and classes are gone", func() (bool, error) {
		var pools karpv1.NodePoolList
		if err := e.client.List(e.ctx, &pools); err != nil {
			return false, err
		}
		claims, err := e.claims()
		if err != nil {
			return false, err
		}
		nodes, err := e.tailorNodes()
		if err != nil {
			return false, err
		}
		var classes ec2v1.EC2NodeClassList
		if err := e.client.List(e.ctx, &classes); err != nil {
			return false, err
		}
		if n := len(pools.Items) + len(claims) + len(nodes) + len(classes.Items) - 1; n > 0 {
			return false, fmt.Errorf("%d NodePools, %d NodeClaims, %d nodes, %d EC2NodeClasses", len(pools.Items), len(claims), len(nodes), len(classes.Items))
		}
		return true, nil
	})
}
