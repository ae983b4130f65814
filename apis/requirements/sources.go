package requirements

import (
	corev1 "k8s.io/api/core/v1"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// FromNodeSelectorRequirements reads node selector expressions, as found in
// a node affinity term. Expressions on the same key are ANDed, as Kubernetes
// does within a term.
func FromNodeSelectorRequirements(reqs ...corev1.NodeSelectorRequirement) Requirements {
	r := make(Requirements, len(reqs))
	for _, req := range reqs {
		r.Add(NewRequirement(req.Key, req.Operator, req.Values...))
	}
	return r
}

// FromNodeSelectorRequirementsWithMinValues reads the requirements of a
// NodePool or NodeClaim, keeping their MinValues.
func FromNodeSelectorRequirementsWithMinValues(reqs ...karpv1.NodeSelectorRequirementWithMinValues) Requirements {
	r := make(Requirements, len(reqs))
	for _, req := range reqs {
		r.Add(NewRequirementWithMinValues(req.Key, req.Operator, req.MinValues, req.Values...))
	}
	return r
}

// FromLabels reads each label as "key In [value]": what a node with exactly
// these labels (or a pod's nodeSelector) pins down.
func FromLabels(labels map[string]string) Requirements {
	r := make(Requirements, len(labels))
	for key, value := range labels {
		r.Add(NewRequirement(key, corev1.NodeSelectorOpIn, value))
	}
	return r
}

// FromNodePool returns what every node of np satisfies: the template's
// requirements, the template's labels (a node carries them, so each pins its
// key to its value), and karpenter.sh/nodepool pinned to the pool's name.
func FromNodePool(np *karpv1.NodePool) Requirements {
	r := FromNodeSelectorRequirementsWithMinValues(np.Spec.Template.Spec.Requirements...)
	for key, value := range np.Spec.Template.ObjectMeta.Labels {
		r.Add(NewRequirement(key, corev1.NodeSelectorOpIn, value))
	}
	r.Add(NewRequirement(wellknown.NodePoolLabel, corev1.NodeSelectorOpIn, np.Name))
	return r
}
