package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/names"

	"github.com/tailor-project/tailor/plugin/solver"
)

// Simulator is a solver.Checker backed by the scheduler framework.
type Simulator struct {
	ctx  context.Context
	fw   framework.Framework
	snap *Snapshot
	// deps and prof build the framework of the frozen snapshot (views.go).
	deps Deps
	prof Profile
	// slowOnly sends every pod down the Filter plugins, for the test that
	// proves the fast path answers as they do.
	slowOnly bool
	// uncached runs PreFilter afresh for every check, for the test that
	// proves the cached states answer as fresh ones.
	uncached bool

	// antiTerms are the distinct required anti-affinity terms of the pods in
	// the snapshot; cleared[pod] counts the leading ones known not to select
	// pod, so each term is matched against each pod once.
	antiTerms []fwk.AffinityTerm
	antiKeys  sets.Set[string]
	cleared   map[*corev1.Pod]int
	// baseTerms are how many of antiTerms the snapshot held when the
	// simulator was built; Reset forgets the rest.
	baseTerms int

	// states caches PreFilter results by the pod spec they depend on, so
	// copies of one pod share them, and keeps them current as pods are
	// placed through the plugins' own AddPod extensions, as the scheduler
	// does for nominated pods, instead of running PreFilter over every node
	// again. A node whose labels change drops them all.
	states map[string]*cachedState
	keys   map[*corev1.Pod]string
	// placements are the pods placed since the states were last cleared,
	// in order; a state catches up on them when it is next read, so the
	// states of pods already placed cost nothing more (statecache.go).
	placements []placement

	// alike remembers, by node, the node object and the solver's labels
	// map last found to agree, so that a node judged again with both
	// unchanged is not compared label by label: a solve judges pods against
	// thousands of nodes, and the solves of a disruption search judge them
	// against a thousand running nodes many times over.
	alike map[string]labelsSeen

	// views carries PreFilter results from solve to solve over a frozen
	// snapshot (views.go).
	views views
}

type labelsSeen struct {
	node   *corev1.Node
	labels unsafe.Pointer
}

type cachedState struct {
	pod    *corev1.Pod
	state  fwk.CycleState
	status *fwk.Status
	// spread selects the pods that count for the pod's topology spread.
	// PodTopologySpread's AddPod keeps only the two smallest domains and can
	// lose the true minimum, so after a placement these select the two are
	// recomputed from the plugin's counts (spread.go), or, when its state
	// cannot be read, the state is dropped; every other plugin's AddPod is
	// exact.
	spread      []labels.Selector
	spreadState *spreadState
	// synced counts the placements the state knows of.
	synced int
	// spreadOnly: every PreFilter plugin but PodTopologySpread skipped the
	// pod, so a placement its spread does not select leaves the state as
	// it is.
	spreadOnly bool
}

var _ solver.Checker = &Simulator{}

// New returns a Simulator over snap, which holds the real nodes and pods;
// the solver's planned nodes are added as it opens them.
func New(ctx context.Context, deps Deps, prof Profile, snap *Snapshot) (*Simulator, error) {
	fw, err := newFramework(ctx, deps, prof, snap)
	if err != nil {
		return nil, err
	}
	s := &Simulator{ctx: ctx, fw: fw, snap: snap, deps: deps, prof: prof, antiKeys: sets.New[string](), cleared: map[*corev1.Pod]int{},
		states: map[string]*cachedState{}, keys: map[*corev1.Pod]string{}, alike: map[string]labelsSeen{}}
	withAnti, _ := snap.HavePodsWithRequiredAntiAffinityList()
	for _, ni := range withAnti {
		for _, pi := range ni.GetPodsWithRequiredAntiAffinity() {
			s.addAntiTerms(pi.GetRequiredAntiAffinityTerms())
		}
	}
	s.baseTerms = len(s.antiTerms)
	for _, pl := range fw.ListPlugins().PreFilter.Enabled {
		s.views.preFilters = append(s.views.preFilters, pl.Name)
	}
	return s, nil
}

func (s *Simulator) addAntiTerms(terms []fwk.AffinityTerm) {
	for _, t := range terms {
		key := antiKey(t)
		if !s.antiKeys.Has(key) {
			s.antiKeys.Insert(key)
			s.antiTerms = append(s.antiTerms, t)
		}
	}
}

func antiKey(t fwk.AffinityTerm) string {
	return fmt.Sprintf("%s|%v|%v|%s", t.TopologyKey, sets.List(t.Namespaces), t.NamespaceSelector, t.Selector)
}

// Snapshot is the snapshot the simulator judges against.
func (s *Simulator) Snapshot() *Snapshot { return s.snap }

// plannedNode is the Node object the solver's node is judged as.
func plannedNode(n *solver.Node) *corev1.Node {
	return PlannedNode(n.Name, n.Labels, n.Taints)
}

// PlannedNode is the Node object a node that does not exist yet is judged
// as: its sure labels and its taints, and unbounded allocatable, since the
// solver checks room itself and NodeResourcesFit is not run.
func PlannedNode(name string, labels map[string]string, taints []corev1.Taint) *corev1.Node {
	huge := *resource.NewQuantity(math.MaxInt64/4, resource.DecimalSI)
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
			corev1.ResourceCPU: huge, corev1.ResourceMemory: huge, corev1.ResourcePods: huge,
		}},
	}
}

// Opened implements solver.Checker.
func (s *Simulator) Opened(n *solver.Node) { s.snap.AddNode(plannedNode(n)) }

// Closed implements solver.Checker.
func (s *Simulator) Closed(n *solver.Node) { s.snap.RemoveNode(n.Name) }

// relabel gives a planned node's object the solver's current labels.
func (s *Simulator) relabel(n *solver.Node) *framework.NodeInfo {
	ni, _ := s.snap.Get(n.Name)
	concrete := ni.(*framework.NodeInfo)
	// A node is judged again and again, pod after pod and, in a frozen
	// snapshot, solve after solve, with the same labels: the solver
	// replaces a node's labels map when the labels change, and never
	// writes to one it has shown, so a map already found to agree with the
	// node object is not compared again.
	seen := labelsSeen{node: concrete.Node(), labels: reflect.ValueOf(n.Labels).UnsafePointer()}
	if s.alike[n.Name] == seen {
		return concrete
	}
	if !sameLabels(concrete.Node().Labels, n.Labels) {
		return s.labelAs(n)
	}
	s.alike[n.Name] = seen
	return concrete
}

// labelAs gives the node's object the solver's labels, which PreFilter
// results depend on.
func (s *Simulator) labelAs(n *solver.Node) *framework.NodeInfo {
	s.forgetStates()
	return s.snap.AddNode(plannedNode(n))
}

// Placed implements solver.Checker.
func (s *Simulator) Placed(pod *corev1.Pod, n *solver.Node) {
	// The node's labels may have narrowed with the pod.
	s.relabel(n)
	if err := s.snap.AddPod(n.Name, pod); err != nil {
		// The solver only places pods on nodes it opened.
		panic(err)
	}
	// Read after the pod is added: a node of a frozen snapshot is copied
	// on its first change.
	got, _ := s.snap.Get(n.Name)
	ni := got.(*framework.NodeInfo)
	if len(s.states) > 0 {
		s.placements = append(s.placements, placement{pod: ni.Pods[len(ni.Pods)-1], node: ni})
	}
	s.views.placedOn(ni)
	if a := pod.Spec.Affinity; a != nil && a.PodAntiAffinity != nil && len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0 {
		if pi, err := framework.NewPodInfo(pod); err == nil {
			s.addAntiTerms(pi.GetRequiredAntiAffinityTerms())
		}
	}
}

// Check implements solver.Checker.
func (s *Simulator) Check(pod *corev1.Pod, n *solver.Node) error {
	if s.fastPath(pod) {
		if taint, found := corev1helpers.FindMatchingUntoleratedTaint(n.Taints, pod.Spec.Tolerations, func(t *corev1.Taint) bool {
			return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
		}); found {
			return fmt.Errorf("node(s) had untolerated taint {%s: %s}", taint.Key, taint.Value)
		}
		return nil
	}
	if _, err := s.snap.Get(n.Name); err != nil {
		return err
	}
	// Judge the node with the labels the solver is about to give it.
	ni := s.relabel(n)
	state, status := s.preFilter(pod)
	if !status.IsSuccess() && !status.IsSkip() {
		return statusError(status)
	}
	if status := s.fw.RunFilterPlugins(s.ctx, state, pod, ni); !status.IsSuccess() {
		return statusError(status)
	}
	return nil
}

// preFilter returns the PreFilter result for pod, computed once per kind
// of pod and kept current since.
func (s *Simulator) preFilter(pod *corev1.Pod) (fwk.CycleState, *fwk.Status) {
	if s.uncached {
		state := framework.NewCycleState()
		_, status, _ := s.fw.RunPreFilterPlugins(s.ctx, state, pod)
		return state, status
	}
	key, ok := s.keys[pod]
	if !ok {
		key = stateKey(pod)
		s.keys[pod] = key
	}
	if c, ok := s.states[key]; ok {
		if s.catchUp(c) {
			return c.state, c.status
		}
		delete(s.states, key)
	}
	state, ok := s.carried(key, pod)
	var status *fwk.Status
	if !ok {
		state = framework.NewCycleState()
		_, status, _ = s.fw.RunPreFilterPlugins(s.ctx, state, pod)
	}
	c := &cachedState{pod: pod, state: state, status: status, synced: len(s.placements)}
	if len(pod.Spec.TopologySpreadConstraints) > 0 && status.IsSuccess() {
		c.spreadState, _ = spreadStateOf(state)
		skipped := state.GetSkipFilterPlugins()
		c.spreadOnly = !skipped.Has(names.PodTopologySpread)
		for _, name := range s.views.preFilters {
			if name != names.PodTopologySpread && !skipped.Has(name) {
				c.spreadOnly = false
			}
		}
	}
	for _, tsc := range pod.Spec.TopologySpreadConstraints {
		sel, err := metav1.LabelSelectorAsSelector(tsc.LabelSelector)
		if err != nil {
			sel = labels.Everything()
		}
		c.spread = append(c.spread, sel)
	}
	s.states[key] = c
	return state, status
}

func (c *cachedState) selectsForSpread(namespace string, set labels.Set) bool {
	if namespace != c.pod.Namespace {
		return false
	}
	for _, sel := range c.spread {
		if sel.Matches(set) {
			return true
		}
	}
	return false
}

// stateKey names what PreFilter results depend on in a pod: its namespace,
// labels and spec (requests aside, which no simulated plugin reads). Two
// pods with the same key get the same verdicts.
func stateKey(pod *corev1.Pod) string {
	spec := pod.Spec.DeepCopy()
	for i := range spec.Containers {
		spec.Containers[i].Resources = corev1.ResourceRequirements{}
	}
	for i := range spec.InitContainers {
		spec.InitContainers[i].Resources = corev1.ResourceRequirements{}
	}
	raw, err := json.Marshal(struct {
		Namespace string
		Labels    map[string]string
		Spec      *corev1.PodSpec
	}{pod.Namespace, pod.Labels, spec})
	if err != nil {
		// A PodSpec always marshals; fall back to a key of its own.
		return string(pod.UID)
	}
	return string(raw)
}

// fastPath: nothing but taints can refuse the pod on a planned node.
func (s *Simulator) fastPath(pod *corev1.Pod) bool {
	if s.slowOnly || len(pod.Spec.TopologySpreadConstraints) > 0 || len(pod.Spec.Volumes) > 0 && hasClaims(pod) {
		return false
	}
	if a := pod.Spec.Affinity; a != nil && (a.PodAffinity != nil || a.PodAntiAffinity != nil) {
		return false
	}
	for i := range pod.Spec.Containers {
		for _, p := range pod.Spec.Containers[i].Ports {
			if p.HostPort > 0 {
				return false
			}
		}
	}
	// Only an existing pod's required anti-affinity that selects this pod
	// could refuse it.
	for i := s.cleared[pod]; i < len(s.antiTerms); i++ {
		// Namespace labels are unknown here; a namespace selector then
		// matches conservatively and sends the pod down the full path.
		if s.antiTerms[i].Matches(pod, nil) {
			return false
		}
		s.cleared[pod] = i + 1
	}
	return true
}

func hasClaims(pod *corev1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil || v.Ephemeral != nil || v.CSI != nil {
			return true
		}
	}
	return false
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func statusError(s *fwk.Status) error {
	if err := s.AsError(); err != nil && s.Code() == fwk.Error {
		return err
	}
	reasons := s.Reasons()
	if len(reasons) == 0 {
		return errors.New(s.Code().String())
	}
	return errors.New(strings.Join(reasons, ", "))
}
