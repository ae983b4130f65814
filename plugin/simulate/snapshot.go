package simulate

import (
	"fmt"

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
	pvcs   sets.Set[string]

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
	s := &Snapshot{byName: make(map[string]*framework.NodeInfo, len(nodes)), pvcs: sets.New[string](), dirty: true}
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
	for i, ni := range s.nodes {
		if ni.Node().Name == name {
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
	s.addPod(ni, bound)
	return nil
}

func (s *Snapshot) addPod(ni *framework.NodeInfo, pod *corev1.Pod) {
	ni.AddPod(pod)
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			s.pvcs.Insert(pod.Namespace + "/" + v.PersistentVolumeClaim.ClaimName)
		}
	}
	s.dirty = true
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
func (s *Snapshot) IsPVCUsedByPods(key string) bool { return s.pvcs.Has(key) }
