package solver

import (
	"fmt"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// podInfo is what the solver computes once per pod.
type podInfo struct {
	pod *corev1.Pod
	req resources
	// alternatives are the pod's node requirements, one per ORed node
	// affinity term.
	alternatives []requirements.Requirements
	// class groups pods made from one template with the same requests; the
	// count of a class still to place sizes the nodes opened for it.
	class string
	// zonal: a zone or capacity-type keyed constraint, so a node for the
	// pod needs those labels fixed before the Checker can judge it.
	zonal bool
	// alone: the pod wants no second copy of itself on a node (hostname
	// anti-affinity or spread), so nodes for it are sized for one.
	alone bool
	// exclusive: its required hostname anti-affinity selects its own
	// labels, so a node with a pod of the same labelSet refuses it.
	exclusive bool
	// labelSet is the pod's namespace and labels, as a comparable key.
	labelSet string
	// spreadCap is, for a pod with a hostname topology spread that selects
	// its own labels and no node affinity, the most pods of its labelSet a
	// node may hold before the spread refuses it when an empty hostname
	// domain exists (maxSkew); 0 when that does not apply.
	spreadCap int
}

func newPodInfo(pod *corev1.Pod, ebsVolumes func(*corev1.Pod) int) *podInfo {
	pi := &podInfo{
		pod:          pod,
		req:          podRequests(pod),
		alternatives: requirements.ForPod(pod),
	}
	if ebsVolumes != nil && hasClaims(pod) {
		pi.req.volumes = int64(ebsVolumes(pod))
	}
	pi.labelSet = labelSetOf(pod)
	pi.class = pi.labelSet + "/" + classOf(pod, pi.req)
	pi.zonal, pi.alone, pi.exclusive = topologyOf(pod)
	pi.spreadCap = hostnameSpreadCap(pod)
	return pi
}

// classOf names the pods that are copies of each other for sizing
// purposes: the same controller (if any) and requests; the caller adds the
// labels.
func classOf(pod *corev1.Pod, req resources) string {
	owner := ""
	if ref := metav1.GetControllerOf(pod); ref != nil {
		owner = string(ref.UID)
	}
	return fmt.Sprintf("%s/%d/%d/%d/%d/%d", owner, req.cpu, req.memory, req.storage, req.volumes, len(req.extended))
}

// labelSetOf spells a pod's namespace and labels in a canonical order.
func labelSetOf(pod *corev1.Pod) string {
	return pod.Namespace + "/" + labels.Set(pod.Labels).String()
}

// topologyOf reads the pod's required inter-pod constraints.
func topologyOf(pod *corev1.Pod) (zonal, alone, exclusive bool) {
	own := labels.Set(pod.Labels)
	selects := func(sel *metav1.LabelSelector) bool {
		s, err := metav1.LabelSelectorAsSelector(sel)
		return err == nil && s.Matches(own)
	}
	for _, c := range pod.Spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable != corev1.DoNotSchedule {
			continue
		}
		switch c.TopologyKey {
		case wellknown.HostnameLabel:
			alone = alone || (c.MaxSkew == 1 && selects(c.LabelSelector))
		default:
			zonal = true
		}
	}
	if a := pod.Spec.Affinity; a != nil {
		if a.PodAntiAffinity != nil {
			for _, term := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
				if term.TopologyKey == wellknown.HostnameLabel {
					own := selects(term.LabelSelector) && (len(term.Namespaces) == 0 || slices.Contains(term.Namespaces, pod.Namespace)) && term.NamespaceSelector == nil
					alone = alone || own
					exclusive = exclusive || own
				} else {
					zonal = true
				}
			}
		}
		if a.PodAffinity != nil {
			for _, term := range a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
				if term.TopologyKey != wellknown.HostnameLabel {
					zonal = true
				}
			}
		}
	}
	return zonal, alone, exclusive
}

func hostnameSpreadCap(pod *corev1.Pod) int {
	if len(pod.Spec.NodeSelector) > 0 || (pod.Spec.Affinity != nil && pod.Spec.Affinity.NodeAffinity != nil) {
		// Only nodes that meet the pod's node affinity count as domains.
		return 0
	}
	own := labels.Set(pod.Labels)
	cap := 0
	for _, c := range pod.Spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable != corev1.DoNotSchedule || c.TopologyKey != wellknown.HostnameLabel {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil || !sel.Matches(own) {
			continue
		}
		if cap == 0 || int(c.MaxSkew) < cap {
			cap = int(c.MaxSkew)
		}
	}
	return cap
}

// sortPods orders the batch: first the pods that must be alone on their
// node (required hostname anti-affinity to their own kind), since their
// count is the least number of nodes the batch needs and the others can
// fill those nodes; then the largest first, so that small pods fill the room
// large ones leave. Copies of one template stay together.
func sortPods(pods []*podInfo) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if a.exclusive != b.exclusive {
			return a.exclusive
		}
		if a.req.cpu != b.req.cpu {
			return a.req.cpu > b.req.cpu
		}
		if a.req.memory != b.req.memory {
			return a.req.memory > b.req.memory
		}
		if a.class != b.class {
			return a.class < b.class
		}
		if !a.pod.CreationTimestamp.Equal(&b.pod.CreationTimestamp) {
			return a.pod.CreationTimestamp.Before(&b.pod.CreationTimestamp)
		}
		return a.pod.Namespace+"/"+a.pod.Name < b.pod.Namespace+"/"+b.pod.Name
	})
}
