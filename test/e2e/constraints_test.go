package e2e

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// scenarioLabel keeps the scenarios of a test apart: each has NodePools
// that put it on their nodes and pods that select it, so that scenarios
// share one cluster and one scheduler without sharing nodes.
const scenarioLabel = "e2e.tailor.sh/scenario"

// scenarioPool is a NodePool of the seed's EC2NodeClass for one scenario.
func scenarioPool(name, scenario string, reqs ...karpv1.NodeSelectorRequirementWithMinValues) *karpv1.NodePool {
	return &karpv1.NodePool{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: karpv1.NodePoolSpec{
			Template: karpv1.NodeClaimTemplate{
				ObjectMeta: karpv1.ObjectMeta{Labels: map[string]string{scenarioLabel: scenario}},
				Spec: karpv1.NodeClaimTemplateSpec{
					Requirements: reqs,
					NodeClassRef: &karpv1.NodeClassReference{Group: ec2v1.GroupVersion.Group, Kind: "EC2NodeClass", Name: "default"},
				},
			},
			Disruption: karpv1.Disruption{ConsolidateAfter: karpv1.MustParseNillableDuration("Never")},
		},
	}
}

func req(key string, op corev1.NodeSelectorOperator, values ...string) karpv1.NodeSelectorRequirementWithMinValues {
	return karpv1.NodeSelectorRequirementWithMinValues{Key: key, Operator: op, Values: values}
}

// onDemand keeps scenario pools to on-demand and current generations: the
// constraints, not the market, decide what is launched.
var onDemand = []karpv1.NodeSelectorRequirementWithMinValues{
	req(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, wellknown.CapacityTypeOnDemand),
	req(wellknown.InstanceGenerationLabel, corev1.NodeSelectorOpGt, "5"),
}

// scenarioWorkload is a Deployment whose pods select the scenario's nodes.
func scenarioWorkload(name, scenario string, replicas int32, cpu string, shape func(*corev1.PodSpec)) *appsv1.Deployment {
	d := deployment(name, replicas, cpu)
	spec := &d.Spec.Template.Spec
	spec.NodeSelector = map[string]string{scenarioLabel: scenario}
	if shape != nil {
		shape(spec)
	}
	return d
}

// dedicated is the taint of the tainted pool.
var dedicated = corev1.Taint{Key: "example.com/dedicated", Value: "batch", Effect: corev1.TaintEffectNoSchedule}

// TestSchedulingConstraints: what a pod asks of its node through the
// scheduler's own constraints holds on the nodes Tailor buys for it. The
// scenarios run at once on one cluster, so the plugin also sorts a batch
// that mixes them.
func TestSchedulingConstraints(t *testing.T) {
	e := start(t, options{})
	type scenario struct {
		name  string
		pools []*karpv1.NodePool
		// workloads are the scenario's Deployments; check judges their
		// running pods and the nodes they run on.
		workloads []*appsv1.Deployment
		check     func(e *env, pods map[string][]corev1.Pod, nodes map[string]*corev1.Node)
	}
	tainted := scenarioPool("taints-dedicated", "taints", onDemand...)
	tainted.Spec.Template.Spec.Taints = []corev1.Taint{dedicated}
	tainted.Spec.Weight = ptr.To[int32](100)
	general := scenarioPool("taints-general", "taints", onDemand...)
	general.Spec.Weight = ptr.To[int32](1)

	scenarios := []scenario{
		{
			name:  "zonal spread",
			pools: []*karpv1.NodePool{scenarioPool("spread", "spread", onDemand...)},
			workloads: []*appsv1.Deployment{scenarioWorkload("spread", "spread", 6, "1", func(s *corev1.PodSpec) {
				s.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
					MaxSkew: 1, TopologyKey: wellknown.ZoneLabel, WhenUnsatisfiable: corev1.DoNotSchedule,
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread"}},
				}}
			})},
			check: func(e *env, pods map[string][]corev1.Pod, nodes map[string]*corev1.Node) {
				perZone := map[string]int{}
				for _, p := range pods["spread"] {
					perZone[nodes[p.Spec.NodeName].Labels[wellknown.ZoneLabel]]++
				}
				least, most := len(pods["spread"]), 0
				for _, n := range perZone {
					least, most = min(least, n), max(most, n)
				}
				if len(perZone) != 3 || most-least > 1 {
					e.t.Errorf("pods per zone: %v; want all three zones with a skew of at most 1\n%s", perZone, e.dump())
				}
			},
		},
		{
			name:  "hostname anti-affinity",
			pools: []*karpv1.NodePool{scenarioPool("anti-affinity", "anti-affinity", onDemand...)},
			workloads: []*appsv1.Deployment{scenarioWorkload("anti", "anti-affinity", 4, "500m", func(s *corev1.PodSpec) {
				s.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
						TopologyKey:   wellknown.HostnameLabel,
						LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "anti"}},
					}},
				}}
			})},
			check: func(e *env, pods map[string][]corev1.Pod, _ map[string]*corev1.Node) {
				hosts := map[string][]string{}
				for _, p := range pods["anti"] {
					hosts[p.Spec.NodeName] = append(hosts[p.Spec.NodeName], p.Name)
				}
				for node, names := range hosts {
					if len(names) > 1 {
						e.t.Errorf("node %s runs %v, which refuse to share a node\n%s", node, names, e.dump())
					}
				}
			},
		},
		{
			// The tainted pool weighs more: pods that tolerate the taint go
			// there, the others to the general pool, never the reverse.
			name:  "taints and tolerations",
			pools: []*karpv1.NodePool{tainted, general},
			workloads: []*appsv1.Deployment{
				scenarioWorkload("tolerant", "taints", 3, "1", func(s *corev1.PodSpec) {
					s.Tolerations = []corev1.Toleration{{Key: dedicated.Key, Operator: corev1.TolerationOpEqual, Value: dedicated.Value, Effect: dedicated.Effect}}
				}),
				scenarioWorkload("intolerant", "taints", 3, "1", nil),
			},
			check: func(e *env, pods map[string][]corev1.Pod, nodes map[string]*corev1.Node) {
				want := map[string]string{"tolerant": tainted.Name, "intolerant": general.Name}
				for app, pool := range want {
					for _, p := range pods[app] {
						n := nodes[p.Spec.NodeName]
						if got := n.Labels[wellknown.NodePoolLabel]; got != pool {
							e.t.Errorf("pod %s of %s runs on %s of NodePool %s, want NodePool %s\n%s", p.Name, app, n.Name, got, pool, e.dump())
						}
						if app == "intolerant" && hasTaint(n, dedicated) {
							e.t.Errorf("pod %s runs on %s, tainted %s, without tolerating it", p.Name, n.Name, dedicated.ToString())
						}
					}
				}
				for _, n := range nodes {
					if n.Labels[wellknown.NodePoolLabel] == tainted.Name && !hasTaint(n, dedicated) {
						e.t.Errorf("node %s of the tainted NodePool lacks the taint %s: %s", n.Name, dedicated.ToString(), describeNode(n))
					}
				}
			},
		},
		{
			name:  "arm64 selector",
			pools: []*karpv1.NodePool{scenarioPool("arm", "arm", onDemand...)},
			workloads: []*appsv1.Deployment{scenarioWorkload("arm", "arm", 2, "1", func(s *corev1.PodSpec) {
				s.NodeSelector[wellknown.ArchLabel] = wellknown.ArchARM64
			})},
			check: func(e *env, pods map[string][]corev1.Pod, nodes map[string]*corev1.Node) {
				for _, p := range pods["arm"] {
					n := nodes[p.Spec.NodeName]
					if n.Labels[wellknown.ArchLabel] != wellknown.ArchARM64 || n.Status.NodeInfo.Architecture != wellknown.ArchARM64 {
						e.t.Errorf("pod %s runs on %s, not an arm64 node: %s (kubelet reports %q)", p.Name, n.Name, describeNode(n), n.Status.NodeInfo.Architecture)
					}
				}
			},
		},
		{
			// A GPU pod requests nvidia.com/gpu, which the node has to
			// advertise for the pod to bind at all.
			name:  "GPU selector",
			pools: []*karpv1.NodePool{scenarioPool("gpu", "gpu", onDemand...)},
			workloads: []*appsv1.Deployment{scenarioWorkload("gpu", "gpu", 1, "1", func(s *corev1.PodSpec) {
				s.NodeSelector[wellknown.InstanceGPUManufacturerLabel] = "nvidia"
				gpu := corev1.ResourceList{wellknown.ResourceNVIDIAGPU: resource.MustParse("1")}
				s.Containers[0].Resources.Requests[wellknown.ResourceNVIDIAGPU] = gpu[wellknown.ResourceNVIDIAGPU]
				s.Containers[0].Resources.Limits = gpu
			})},
			check: func(e *env, pods map[string][]corev1.Pod, nodes map[string]*corev1.Node) {
				for _, p := range pods["gpu"] {
					n := nodes[p.Spec.NodeName]
					gpus := n.Status.Allocatable[wellknown.ResourceNVIDIAGPU]
					if n.Labels[wellknown.InstanceGPUManufacturerLabel] != "nvidia" || gpus.Value() < 1 {
						e.t.Errorf("pod %s runs on %s, which is no NVIDIA GPU node: %s, allocatable %s=%s",
							p.Name, n.Name, describeNode(n), wellknown.ResourceNVIDIAGPU, gpus.String())
					}
				}
			},
		},
	}

	for _, sc := range scenarios {
		for _, np := range sc.pools {
			e.create(np)
		}
	}
	t.Run("scenarios", func(t *testing.T) {
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				e := e.forT(t)
				pods := map[string][]corev1.Pod{}
				var all []corev1.Pod
				for _, d := range sc.workloads {
					e.create(d)
				}
				for _, d := range sc.workloads {
					pods[d.Name] = e.running(d.Name, int(*d.Spec.Replicas))
					all = append(all, pods[d.Name]...)
				}
				nodes := e.nodesOf(all)
				pools := sets.New[string]()
				for _, np := range sc.pools {
					pools.Insert(np.Name)
				}
				for _, n := range nodes {
					if !pools.Has(n.Labels[wellknown.NodePoolLabel]) {
						t.Errorf("node %s is not of the scenario's NodePools %v: %s", n.Name, sets.List(pools), describeNode(n))
					}
				}
				sc.check(e, pods, nodes)
			})
		}
	})
	e.noOrphanInstances()
	claimsThrough(e)
}

// claimsThrough checks that every claim made it through its lifecycle.
func claimsThrough(e *env) {
	e.t.Helper()
	for _, nc := range e.mustClaims() {
		if missing := notThrough(&nc); len(missing) > 0 {
			e.t.Errorf("NodeClaim %s is not %v\n%s", nc.Name, missing, e.dump())
		}
	}
}

func hasTaint(n *corev1.Node, taint corev1.Taint) bool {
	for _, t := range n.Spec.Taints {
		if t.MatchTaint(&taint) {
			return true
		}
	}
	return false
}
