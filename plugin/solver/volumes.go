package solver

import (
	"math"

	corev1 "k8s.io/api/core/v1"

	"github.com/tailor-project/tailor/launcher/catalog"
)

// ResourceEBSVolumes is the solver's own resource for EBS volume
// attachments: a pod with EBS volumes requests one per volume, and an
// instance type offers what the EBS CSI driver would report as its CSINode
// limit. No node advertises it and no pod asks for it; it exists only in
// the solver's arithmetic, so a pod without volumes never meets it.
//
// A planned node counts each pod's volumes on their own: two pods that
// share a claim on one node count it twice, while the node attaches it once.
// The plan can only err towards more nodes than needed, never towards a
// node that NodeVolumeLimits would refuse the pods of.
const ResourceEBSVolumes corev1.ResourceName = "tailor.internal/ebs-volumes"

// unlimitedVolumes is the volume room of an in-flight node whose room does
// not say: a running node's limit is NodeVolumeLimits' to judge through the
// Checker, which reads its CSINode.
const unlimitedVolumes = math.MaxInt32

// ebsVolumeLimit is how many EBS volumes a node of the type in the pool can
// attach; its primary interface is the only one the launcher attaches to a
// node whose pods ask no EFA.
func ebsVolumeLimit(pool *Pool, it *catalog.InstanceType) int64 {
	if it.Info == nil {
		return catalog.EBSVolumeLimit(&catalog.Info{}, pool.ExtraBlockDevices, 1)
	}
	return catalog.EBSVolumeLimit(it.Info, pool.ExtraBlockDevices, 1)
}

// hasClaims reports whether any of the pod's volumes is a claim, so that
// the pods without are never looked up.
func hasClaims(pod *corev1.Pod) bool {
	for i := range pod.Spec.Volumes {
		if v := &pod.Spec.Volumes[i]; v.PersistentVolumeClaim != nil || v.Ephemeral != nil {
			return true
		}
	}
	return false
}
