package volumetopology

import (
	corev1 "k8s.io/api/core/v1"
)

// The names an EBS volume goes by: the CSI driver's, and the in-tree
// provisioner's, whose volumes CSI migration hands to the same driver, and
// which NodeVolumeLimits counts against the same limit.
const (
	EBSCSIDriver         = "ebs.csi.aws.com"
	inTreeEBSProvisioner = "kubernetes.io/aws-ebs"
)

// EBSVolumes counts the EBS volumes the pod attaches to its node, as
// NodeVolumeLimits counts them against the node's limit: each distinct
// claim, generic ephemeral volumes' included, that is bound to an EBS
// volume, or, unbound, whose StorageClass provisions EBS volumes. A claim
// that cannot be read counts nothing: Constrain refuses its pod already.
func (r Reader) EBSVolumes(pod *corev1.Pod) int {
	var seen map[string]bool
	for _, v := range pod.Spec.Volumes {
		claim := claimName(pod, v)
		if claim == "" || seen[claim] || !r.isEBS(pod.Namespace, claim) {
			continue
		}
		if seen == nil {
			seen = map[string]bool{}
		}
		seen[claim] = true
	}
	return len(seen)
}

func (r Reader) isEBS(namespace, name string) bool {
	pvc, err := r.Claims.PersistentVolumeClaims(namespace).Get(name)
	if err != nil {
		return false
	}
	if pvc.Spec.VolumeName != "" {
		pv, err := r.Volumes.Get(pvc.Spec.VolumeName)
		if err != nil {
			return false
		}
		return (pv.Spec.CSI != nil && pv.Spec.CSI.Driver == EBSCSIDriver) || pv.Spec.AWSElasticBlockStore != nil
	}
	class := storageClassOf(pvc)
	if class == "" {
		return false
	}
	sc, err := r.Classes.Get(class)
	if err != nil {
		return false
	}
	return sc.Provisioner == EBSCSIDriver || sc.Provisioner == inTreeEBSProvisioner
}
