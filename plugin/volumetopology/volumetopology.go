// Package volumetopology narrows where a pod may run by where its volumes
// are, before capacity is bought for it.
//
// The scheduler's VolumeBinding and VolumeZone plugins judge a pod's
// volumes against real nodes. A node that does not exist yet has no answer
// from them: the simulation leaves VolumeBinding out, and VolumeZone only
// refuses a planned node whose zone is already fixed. Without this step a
// pod with a zonal EBS volume could get a node in another zone and stay
// Pending there. So the volumes' topology is written into (a copy of) the
// pod's required node affinity, and the solver narrows the claim's zones
// with it, as it does for any node affinity:
//
//   - a PersistentVolumeClaim bound to a PersistentVolume: the volume's
//     required node affinity, and its zone labels (topology.kubernetes.io/zone
//     and the deprecated failure-domain.beta.kubernetes.io/zone, "__"
//     separating the zones of a regional volume);
//   - an unbound claim whose StorageClass binds WaitForFirstConsumer: the
//     class's allowedTopologies, where the provisioner may create it.
//
// An unbound claim of an Immediate class waits for the volume controller,
// and the pod cannot be scheduled before; it adds nothing. A missing claim
// is an error: the scheduler will not place the pod until it exists.
package volumetopology

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/component-helpers/storage/ephemeral"
)

// Zone labels a PersistentVolume may carry, as VolumeZone reads them.
const (
	zoneLabel           = corev1.LabelTopologyZone
	deprecatedZoneLabel = corev1.LabelFailureDomainBetaZone
)

// maxTerms bounds the terms of a narrowed affinity: each volume with
// several terms multiplies them.
const maxTerms = 64

// Reader reads the volumes of pods.
type Reader struct {
	Claims  corelisters.PersistentVolumeClaimLister
	Volumes corelisters.PersistentVolumeLister
	Classes storagelisters.StorageClassLister
}

// Constrain returns the pod with its volumes' topology added to its
// required node affinity: the pod itself when its volumes add nothing, else
// a copy. The error says why the pod cannot be placed.
func (r Reader) Constrain(pod *corev1.Pod) (*corev1.Pod, error) {
	var volumes [][]corev1.NodeSelectorTerm
	for _, v := range pod.Spec.Volumes {
		claim := claimName(pod, v)
		if claim == "" {
			continue
		}
		terms, err := r.termsOf(pod.Namespace, claim)
		if err != nil {
			return nil, err
		}
		if terms != nil {
			volumes = append(volumes, terms)
		}
	}
	if len(volumes) == 0 {
		return pod, nil
	}
	out := pod.DeepCopy()
	terms := requiredTerms(out)
	if len(terms) == 0 {
		// Its affinity selects no node: volumes cannot change that.
		return pod, nil
	}
	for _, v := range volumes {
		terms = and(terms, v)
		if len(terms) > maxTerms {
			return nil, fmt.Errorf("the pod's node affinity and its volumes' topologies combine into more than %d alternatives", maxTerms)
		}
	}
	if out.Spec.Affinity == nil {
		out.Spec.Affinity = &corev1.Affinity{}
	}
	if out.Spec.Affinity.NodeAffinity == nil {
		out.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	out.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: terms}
	return out, nil
}

// claimName is the PersistentVolumeClaim a pod's volume uses, "" for other
// volumes; a generic ephemeral volume's claim is named as the ephemeral
// volume controller names it.
func claimName(pod *corev1.Pod, v corev1.Volume) string {
	switch {
	case v.PersistentVolumeClaim != nil:
		return v.PersistentVolumeClaim.ClaimName
	case v.Ephemeral != nil:
		return ephemeral.VolumeClaimName(pod, &v)
	}
	return ""
}

// termsOf is where a claim's volume may be used, as ORed node selector
// terms; nil when anywhere.
func (r Reader) termsOf(namespace, name string) ([]corev1.NodeSelectorTerm, error) {
	pvc, err := r.Claims.PersistentVolumeClaims(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("PersistentVolumeClaim %s/%s does not exist: the pod cannot be scheduled until it does", namespace, name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading PersistentVolumeClaim %s/%s: %w", namespace, name, err)
	}
	if pvc.Spec.VolumeName != "" {
		pv, err := r.Volumes.Get(pvc.Spec.VolumeName)
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("PersistentVolumeClaim %s/%s is bound to PersistentVolume %s, which does not exist", namespace, name, pvc.Spec.VolumeName)
		}
		if err != nil {
			return nil, fmt.Errorf("reading PersistentVolume %s: %w", pvc.Spec.VolumeName, err)
		}
		return volumeTerms(pv), nil
	}
	class := storageClassOf(pvc)
	if class == "" {
		return nil, nil
	}
	sc, err := r.Classes.Get(class)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("PersistentVolumeClaim %s/%s names StorageClass %s, which does not exist", namespace, name, class)
	}
	if err != nil {
		return nil, fmt.Errorf("reading StorageClass %s: %w", class, err)
	}
	if sc.VolumeBindingMode == nil || *sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
		return nil, nil
	}
	return allowedTerms(sc), nil
}

func storageClassOf(pvc *corev1.PersistentVolumeClaim) string {
	if pvc.Spec.StorageClassName != nil {
		return *pvc.Spec.StorageClassName
	}
	return pvc.Annotations[corev1.BetaStorageClassAnnotation]
}

// volumeTerms is where a volume may be used: its node affinity, ANDed with
// its zone labels.
func volumeTerms(pv *corev1.PersistentVolume) []corev1.NodeSelectorTerm {
	var terms []corev1.NodeSelectorTerm
	if a := pv.Spec.NodeAffinity; a != nil && a.Required != nil {
		terms = a.Required.NodeSelectorTerms
	}
	for _, key := range []string{zoneLabel, deprecatedZoneLabel} {
		if zones, ok := pv.Labels[key]; ok && zones != "" {
			zoned := []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
				// Nodes carry the current zone label whichever the volume uses.
				Key: zoneLabel, Operator: corev1.NodeSelectorOpIn, Values: strings.Split(zones, "__"),
			}}}}
			if terms == nil {
				terms = zoned
			} else {
				terms = and(terms, zoned)
			}
		}
	}
	return terms
}

// allowedTerms is a WaitForFirstConsumer class's allowedTopologies as node
// selector terms; nil when it allows every topology.
func allowedTerms(sc *storagev1.StorageClass) []corev1.NodeSelectorTerm {
	var terms []corev1.NodeSelectorTerm
	for _, t := range sc.AllowedTopologies {
		var term corev1.NodeSelectorTerm
		for _, e := range t.MatchLabelExpressions {
			term.MatchExpressions = append(term.MatchExpressions, corev1.NodeSelectorRequirement{Key: e.Key, Operator: corev1.NodeSelectorOpIn, Values: e.Values})
		}
		if len(term.MatchExpressions) > 0 {
			terms = append(terms, term)
		}
	}
	return terms
}

// requiredTerms are the pod's required node affinity terms, or one empty
// term when it has none, which the volumes' terms are then ANDed into. A
// term without expressions or fields selects no node, in Kubernetes, and is
// left out: ANDed with a volume's, it would select some.
func requiredTerms(pod *corev1.Pod) []corev1.NodeSelectorTerm {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return []corev1.NodeSelectorTerm{{}}
	}
	var out []corev1.NodeSelectorTerm
	for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		if len(t.MatchExpressions) > 0 || len(t.MatchFields) > 0 {
			out = append(out, t)
		}
	}
	return out
}

// and is the conjunction of two ORs of terms: every pair of terms, one from
// each, ANDed. An empty term of a (a pod without affinity) takes b's terms
// as they are.
func and(a, b []corev1.NodeSelectorTerm) []corev1.NodeSelectorTerm {
	out := make([]corev1.NodeSelectorTerm, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			var t corev1.NodeSelectorTerm
			t.MatchExpressions = append(append(t.MatchExpressions, x.MatchExpressions...), y.MatchExpressions...)
			t.MatchFields = append(append(t.MatchFields, x.MatchFields...), y.MatchFields...)
			out = append(out, t)
		}
	}
	return out
}
