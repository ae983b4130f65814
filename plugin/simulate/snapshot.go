package simulate

import (
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// Snapshot is a mutable framework.SharedLister: real nodes, read-only, and
// hypothetical nodes the simulation adds pods to.
type Snapshot struct {
	nodes  []*framework.NodeInfo
	byName map[string]*framework.NodeInfo
	// pvcs counts the pods that use each claim, by namespace/name.
	pvcs map[string]int

	// base is what Freeze kept, for Reset to return to.
	base *base

	// The lists plugins ask for are rebuilt when a pod or node changed.
	dirty            bool
	list             []fwk.NodeInfo
	withAffinity     []fwk.NodeInfo
	withAntiAffinity []fwk.NodeInfo
	generation       int64
}

var (
	_ framework.SharedLister      = &Snapshot{}
	_ framework.NodeInfoLister    = &Snapshot{}
	_ framework.StorageInfoLister = &Snapshot{}
)

// NewSnapshot builds a snapshot of nodes and the pods bound to them; pods on
// a node not in nodes are ignored.
func NewSnapshot(nodes []*corev1.Node, pods []*corev1.Pod) *Snapshot {
	s := &Snapshot{byName: make(map[string]*framework.NodeInfo, len(nodes)), pvcs: map[string]int{}, dirty: true}
	for _, n := range nodes {
		s.AddNode(n)
	}
	for _, p := range pods {
		if ni, ok := s.byName[p.Spec.NodeName]; ok && p.Spec.NodeName != "" {
			s.addPod(ni, p)
		}
	}
	return s
}

// AddNode adds an empty node, or replaces the object of a node with the same name.
func (s *Snapshot) AddNode(node *corev1.Node) *framework.NodeInfo {
	s.dirty = true
	if ni, ok := s.byName[node.Name]; ok {
		ni = s.own(ni)
		ni.SetNode(node)
		return ni
	}
	ni := framework.NewNodeInfo()
	ni.SetNode(node)
	s.nodes = append(s.nodes, ni)
	s.byName[node.Name] = ni
	return ni
}

// RemoveNode takes a node and its pods out.
func (s *Snapshot) RemoveNode(name string) {
	if _, ok := s.byName[name]; !ok {
		return
	}
	delete(s.byName, name)
	// From the end: the node taken out is most often a planned node the
	// solver opened last, only to compare it.
	for i := len(s.nodes) - 1; i >= 0; i-- {
		if s.nodes[i].Node().Name == name {
			s.nodes = append(s.nodes[:i], s.nodes[i+1:]...)
			break
		}
	}
	s.dirty = true
}

// AddPod binds a pod to a node of the snapshot, on paper.
func (s *Snapshot) AddPod(nodeName string, pod *corev1.Pod) error {
	ni, ok := s.byName[nodeName]
	if !ok {
		return fmt.Errorf("node %s is not in the snapshot", nodeName)
	}
	bound := pod
	if pod.Spec.NodeName != nodeName {
		copied := *pod
		copied.Spec.NodeName = nodeName
		bound = &copied
	}
	s.addPod(s.own(ni), bound)
	return nil
}

func (s *Snapshot) addPod(ni *framework.NodeInfo, pod *corev1.Pod) {
	ni.AddPod(pod)
	countClaims(s.pvcs, pod, 1)
	s.dirty = true
}

// countClaims adds sign to the count of each claim the pod uses.
func countClaims(counts map[string]int, pod *corev1.Pod, sign int) {
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		key := pod.Namespace + "/" + v.PersistentVolumeClaim.ClaimName
		if counts[key] += sign; counts[key] <= 0 {
			delete(counts, key)
		}
	}
}

// base is a snapshot's content as Freeze kept it. Its NodeInfos are shared
// with the views Reset makes, and copied before any change.
type base struct {
	nodes  []*framework.NodeInfo
	shared sets.Set[*framework.NodeInfo]
	pvcs   map[string]int
}

// Freeze keeps the snapshot as it is, so that many solves can each start
// from it (Reset) without building it again: reading the nodes and pods of
// a large cluster costs far more than one solve of a few pods.
func (s *Snapshot) Freeze() {
	b := &base{nodes: slices.Clone(s.nodes), shared: sets.New(s.nodes...), pvcs: maps.Clone(s.pvcs)}
	s.base = b
}

// Frozen reports whether Freeze kept a state for Reset to return to.
func (s *Snapshot) Frozen() bool { return s.base != nil }

// Reset returns the snapshot to what Freeze kept, less the nodes named in
// without and their pods: the cluster as it will be once they are gone. It
// returns the nodes taken away, as frozen. Nothing is copied but the list
// of nodes; a node is copied the first time a solve changes it. Without
// Freeze, Reset does nothing.
func (s *Snapshot) Reset(without sets.Set[string]) []*framework.NodeInfo {
	b := s.base
	if b == nil {
		return nil
	}
	var gone []*framework.NodeInfo
	s.nodes = s.nodes[:0]
	clear(s.byName)
	s.pvcs = maps.Clone(b.pvcs)
	for _, ni := range b.nodes {
		name := ni.Node().Name
		if without.Has(name) {
			for _, pi := range ni.Pods {
				countClaims(s.pvcs, pi.GetPod(), -1)
			}
			gone = append(gone, ni)
			continue
		}
		s.nodes = append(s.nodes, ni)
		s.byName[name] = ni
	}
	s.dirty = true
	return gone
}

// frozen reports whether the NodeInfo is Freeze's, shared by the views.
func (s *Snapshot) frozen(ni *framework.NodeInfo) bool {
	return s.base != nil && s.base.shared.Has(ni)
}

// own returns the NodeInfo of a node for a change: a copy in place of it
// when it is Freeze's, which other views share.
func (s *Snapshot) own(ni *framework.NodeInfo) *framework.NodeInfo {
	if !s.frozen(ni) {
		return ni
	}
	c := ni.SnapshotConcrete()
	s.byName[c.Node().Name] = c
	if i := slices.Index(s.nodes, ni); i >= 0 {
		s.nodes[i] = c
	}
	return c
}

// Generation changes whenever the snapshot does.
func (s *Snapshot) Generation() int64 {
	s.refresh()
	return s.generation
}

func (s *Snapshot) refresh() {
	if !s.dirty {
		return
	}
	s.list = s.list[:0]
	s.withAffinity = s.withAffinity[:0]
	s.withAntiAffinity = s.withAntiAffinity[:0]
	for _, ni := range s.nodes {
		s.list = append(s.list, ni)
		if len(ni.PodsWithAffinity) > 0 {
			s.withAffinity = append(s.withAffinity, ni)
		}
		if len(ni.PodsWithRequiredAntiAffinity) > 0 {
			s.withAntiAffinity = append(s.withAntiAffinity, ni)
		}
	}
	s.generation++
	s.dirty = false
}

// NodeInfos implements framework.SharedLister.
func (s *Snapshot) NodeInfos() framework.NodeInfoLister { return s }

// StorageInfos implements framework.SharedLister.
func (s *Snapshot) StorageInfos() framework.StorageInfoLister { return s }

// List implements framework.NodeInfoLister.
func (s *Snapshot) List() ([]fwk.NodeInfo, error) {
	s.refresh()
	return s.list, nil
}

// HavePodsWithAffinityList implements framework.NodeInfoLister.
func (s *Snapshot) HavePodsWithAffinityList() ([]fwk.NodeInfo, error) {
	s.refresh()
	return s.withAffinity, nil
}

// HavePodsWithRequiredAntiAffinityList implements framework.NodeInfoLister.
func (s *Snapshot) HavePodsWithRequiredAntiAffinityList() ([]fwk.NodeInfo, error) {
	s.refresh()
	return s.withAntiAffinity, nil
}

// Get implements framework.NodeInfoLister.
func (s *Snapshot) Get(name string) (fwk.NodeInfo, error) {
	if ni, ok := s.byName[name]; ok {
		return ni, nil
	}
	return nil, fmt.Errorf("node %q not found", name)
}

// IsPVCUsedByPods implements framework.StorageInfoLister.
func (s *Snapshot) IsPVCUsedByPods(key string) bool { return s.pvcs[key] > 0 }
