package simulate

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/names"

	"github.com/tailor-project/tailor/apis/wellknown"
)

// A simulator over a frozen snapshot (Snapshot.Freeze) serves many solves,
// each on a view of the snapshot less some nodes (Reset): a disruption
// search asks where the pods of each candidate would go without it. Over a
// large cluster PreFilter is most of a small solve's work (inter-pod
// affinity and topology spread count the pods of every node), so each kind
// of pod is PreFiltered once against the frozen snapshot, and the result is
// carried to each view through the plugins' own RemovePod and AddPod
// extensions: less the pods of the nodes the view takes away, plus those
// the solve placed so far. Where carrying would not be exact, PreFilter
// runs on the view as before.

// carriedPreFilters are the PreFilter plugins whose result is carried:
// inter-pod affinity counts matching pods by topology value and drops a
// count that falls to zero, so RemovePod and AddPod keep it exact; host
// ports depend on the pod alone; topology spread under the conditions of
// spreadCarried. Any other PreFilter plugin must have skipped the pod for
// what the pod is (no volume it checks).
var (
	carriedPreFilters = sets.New(names.InterPodAffinity, names.NodePorts, names.PodTopologySpread)
	skipByPod         = sets.New(names.VolumeRestrictions, names.VolumeZone, names.NodeVolumeLimits)
)

// views is what a simulator knows of the views of its frozen snapshot.
type views struct {
	// preFilters are the profile's PreFilter plugins.
	preFilters []string
	// base is the frozen content the rest was computed for; fw judges it
	// whole, and frozen keeps its PreFilter results by stateKey, nil where
	// they cannot be carried.
	base   *base
	fw     framework.Framework
	frozen map[string]fwk.CycleState
	// domains counts the frozen nodes with both a zone and a hostname by
	// zone, and empty those of them without pods.
	domains map[string]int
	empty   sets.Set[string]
	// hidden are the pods of the nodes the view takes away, placed those
	// the solve placed, in order; gone are the nodes taken away.
	hidden, placed []podOn
	gone           []*framework.NodeInfo
}

// podOn is a pod of a view's history, on its node as frozen (a node taken
// away) or on the node of that name as it is now (a pod placed).
type podOn struct {
	pod  fwk.PodInfo
	node *framework.NodeInfo
	name string
}

// Reset makes the simulator judge the next solve against its snapshot as
// frozen, less the nodes in without, so that one simulator, with its
// framework and plugins, serves many solves. What it learnt of the last
// solve's pods and nodes is forgotten.
//
// The anti-affinity terms of the pods on the nodes taken away are kept: a
// term only sends the pods it selects down the full path, where the
// plugins judge them against the snapshot as it is.
func (s *Simulator) Reset(without sets.Set[string]) {
	gone := s.snap.Reset(without)
	for _, t := range s.antiTerms[s.baseTerms:] {
		s.antiKeys.Delete(antiKey(t))
	}
	s.antiTerms = s.antiTerms[:s.baseTerms]
	clear(s.cleared)
	s.forgetStates()
	clear(s.keys)

	v := &s.views
	if v.base != s.snap.base {
		*v = views{preFilters: v.preFilters, base: s.snap.base, frozen: map[string]fwk.CycleState{}}
	}
	v.hidden, v.placed, v.gone = v.hidden[:0], v.placed[:0], gone
	for _, ni := range gone {
		for _, pi := range ni.Pods {
			v.hidden = append(v.hidden, podOn{pod: pi, node: ni})
		}
	}
}

// placedOn notes the pod last added to a node, while the simulator judges
// a view.
func (v *views) placedOn(ni *framework.NodeInfo) {
	if v.base == nil {
		return
	}
	v.placed = append(v.placed, podOn{pod: ni.Pods[len(ni.Pods)-1], name: ni.Node().Name})
}

// carried is the PreFilter result for pod on the current view, carried from
// the frozen snapshot's, when that is exact.
func (s *Simulator) carried(key string, pod *corev1.Pod) (fwk.CycleState, bool) {
	v := &s.views
	if v.base == nil || v.base != s.snap.base {
		return nil, false
	}
	frozen, ok := v.frozen[key]
	if !ok {
		var err error
		if frozen, err = s.frozenState(pod); err != nil {
			// PreFilter on the view says the same, or better why.
			frozen = nil
		}
		v.frozen[key] = frozen
	}
	if frozen == nil {
		return nil, false
	}
	skipped := frozen.GetSkipFilterPlugins()
	if !skipped.Has(names.PodTopologySpread) && !v.spreadCarried(pod) {
		return nil, false
	}
	if skipped.Has(names.InterPodAffinity) && v.placedAntiAffinity() {
		// Inter-pod affinity skipped the pod for want of anti-affinity
		// against it; a pod placed since may bring some, which AddPod does
		// not tell a plugin that skipped.
		return nil, false
	}
	state := frozen.Clone()
	for _, h := range v.hidden {
		if st := s.fw.RunPreFilterExtensionRemovePod(s.ctx, state, pod, h.pod, h.node); !st.IsSuccess() {
			return nil, false
		}
	}
	for _, p := range v.placed {
		if st := s.fw.RunPreFilterExtensionAddPod(s.ctx, state, pod, p.pod, s.snap.byName[p.name]); !st.IsSuccess() {
			return nil, false
		}
	}
	return state, true
}

// frozenState is pod's PreFilter result on the frozen snapshot, nil when
// it cannot be carried.
func (s *Simulator) frozenState(pod *corev1.Pod) (fwk.CycleState, error) {
	if !plainVolumes(pod) {
		return nil, nil
	}
	v := &s.views
	if v.fw == nil {
		if err := s.frame(); err != nil {
			return nil, err
		}
	}
	state := framework.NewCycleState()
	if _, status, _ := v.fw.RunPreFilterPlugins(s.ctx, state, pod); !status.IsSuccess() {
		return nil, nil
	}
	skipped := state.GetSkipFilterPlugins()
	for _, name := range v.preFilters {
		if skipped.Has(name) && !carriedPreFilters.Has(name) && !skipByPod.Has(name) || !skipped.Has(name) && !carriedPreFilters.Has(name) {
			return nil, nil
		}
	}
	if !skipped.Has(names.PodTopologySpread) && !spreadCarriable(pod) {
		return nil, nil
	}
	return state, nil
}

// frame builds the framework that judges the frozen snapshot whole, and
// counts its topology domains.
func (s *Simulator) frame() error {
	v := &s.views
	whole := &Snapshot{nodes: v.base.nodes, byName: map[string]*framework.NodeInfo{}, pvcs: v.base.pvcs, dirty: true}
	v.domains, v.empty = map[string]int{}, sets.New[string]()
	for _, ni := range v.base.nodes {
		node := ni.Node()
		whole.byName[node.Name] = ni
		zone, zoned := node.Labels[wellknown.ZoneLabel]
		if _, named := node.Labels[wellknown.HostnameLabel]; !zoned || !named {
			continue
		}
		v.domains[zone]++
		if len(ni.Pods) == 0 {
			v.empty.Insert(node.Name)
		}
	}
	fw, err := newFramework(s.ctx, s.deps, s.prof, whole)
	if err != nil {
		return fmt.Errorf("building the framework of the frozen snapshot: %w", err)
	}
	v.fw = fw
	return nil
}

// spreadCarriable: the pod's topology spread counts every node that has
// its keys, hostname and zone only, as a domain, and its selectors are not
// empty (an empty one counts nothing in PreFilter but everything in
// AddPod). Then a view differs from the frozen snapshot, for the spread,
// only in the pods it counts and in the domains of the nodes taken away,
// which spreadCarried rules out.
func spreadCarriable(pod *corev1.Pod) bool {
	if len(pod.Spec.NodeSelector) > 0 || pod.Spec.Affinity != nil && pod.Spec.Affinity.NodeAffinity != nil && pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		return false
	}
	for _, c := range pod.Spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable != corev1.DoNotSchedule {
			continue
		}
		if c.MinDomains != nil || c.TopologyKey != wellknown.ZoneLabel && c.TopologyKey != wellknown.HostnameLabel ||
			c.NodeAffinityPolicy != nil && *c.NodeAffinityPolicy != corev1.NodeInclusionPolicyHonor ||
			c.NodeTaintsPolicy != nil && *c.NodeTaintsPolicy != corev1.NodeInclusionPolicyIgnore {
			return false
		}
		if sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector); err != nil || sel.Empty() {
			return false
		}
	}
	return true
}

// spreadCarried reports whether the frozen spread result of a carriable
// pod carries to the view exactly: RemovePod takes the pods of the nodes
// taken away off their counts, but leaves their hostnames as domains with
// none, and their zones; so an empty hostname and each of their zones must
// remain, and the smallest count stays what it would be. RemovePod also
// counts pods being deleted, which PreFilter does not, and AddPod keeps
// only the two smallest domains: neither may concern the pod.
func (v *views) spreadCarried(pod *corev1.Pod) bool {
	gone := map[string]int{}
	empty := v.empty.Len()
	for _, ni := range v.gone {
		node := ni.Node()
		if zone, ok := node.Labels[wellknown.ZoneLabel]; ok {
			if _, ok := node.Labels[wellknown.HostnameLabel]; ok {
				gone[zone]++
			}
		}
		if v.empty.Has(node.Name) {
			empty--
		}
	}
	for _, p := range v.placed {
		if v.empty.Has(p.name) {
			// Placed on this solve: maybe not empty any more, for this pod.
			empty--
		}
	}
	for zone, n := range gone {
		if v.domains[zone] <= n {
			return false
		}
	}
	if empty <= 0 {
		return false
	}
	var selectors []labels.Selector
	for _, c := range pod.Spec.TopologySpreadConstraints {
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil {
			return false
		}
		selectors = append(selectors, sel)
	}
	selected := func(p *corev1.Pod) bool {
		if p.Namespace != pod.Namespace {
			return false
		}
		for _, sel := range selectors {
			if sel.Matches(labels.Set(p.Labels)) {
				return true
			}
		}
		return false
	}
	for _, h := range v.hidden {
		if p := h.pod.GetPod(); p.DeletionTimestamp != nil && selected(p) {
			return false
		}
	}
	for _, p := range v.placed {
		if selected(p.pod.GetPod()) {
			return false
		}
	}
	return true
}

// placedAntiAffinity reports whether a pod the solve placed has required
// anti-affinity.
func (v *views) placedAntiAffinity() bool {
	for _, p := range v.placed {
		if len(p.pod.GetRequiredAntiAffinityTerms()) > 0 {
			return true
		}
	}
	return false
}

// plainVolumes: the pod's volumes are none that the volume plugins check
// (claims, cloud disks, CSI), only what the kubelet makes from the API.
func plainVolumes(pod *corev1.Pod) bool {
	for _, vol := range pod.Spec.Volumes {
		src := vol.VolumeSource
		if src.ConfigMap == nil && src.Secret == nil && src.Projected == nil && src.EmptyDir == nil && src.DownwardAPI == nil && src.HostPath == nil {
			return false
		}
	}
	return true
}
