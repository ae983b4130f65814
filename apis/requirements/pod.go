package requirements

import (
	corev1 "k8s.io/api/core/v1"
)

// ForPod returns the node requirements of pod as alternatives: a node fits
// the pod when it satisfies at least one of the returned Requirements.
//
// Each alternative is the pod's nodeSelector ANDed with one term of its
// required node affinity, since Kubernetes ORs those terms. A pod without
// required node affinity has a single alternative, its nodeSelector (empty
// when it has none, so it fits anywhere).
//
// As in Kubernetes, a term without expressions and fields selects no node and
// is skipped, and required node affinity with no usable term leaves no
// alternative at all: an empty result means no node can host the pod, not that
// it is unconstrained.
//
// Preferred node affinity is a preference, not a requirement, and is not
// included. matchFields terms are ignored: their only field is metadata.name,
// which names an existing node, and the kube-scheduler itself does not apply
// them to a node that has no name yet — the only kind Tailor reasons about.
func ForPod(pod *corev1.Pod) []Requirements {
	var required *corev1.NodeSelector
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		required = a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	}
	if required == nil {
		return []Requirements{FromLabels(pod.Spec.NodeSelector)}
	}
	out := make([]Requirements, 0, len(required.NodeSelectorTerms))
	for _, term := range required.NodeSelectorTerms {
		if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
			continue
		}
		r := FromLabels(pod.Spec.NodeSelector)
		for _, expr := range term.MatchExpressions {
			r.Add(NewRequirement(expr.Key, expr.Operator, expr.Values...))
		}
		out = append(out, r)
	}
	return out
}
