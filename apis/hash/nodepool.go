package hash

import (
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// NodePoolVersion is the version of NodePool's hash, recorded beside it in
// the karpenter.sh/nodepool-hash-version annotation. Bump it when the set of
// hashed fields or their canonical form changes.
const NodePoolVersion = "v1"

// nodePoolForm is the canonical form of a template's static fields.
type nodePoolForm struct {
	Labels                 map[string]string          `json:"labels,omitempty"`
	Annotations            map[string]string          `json:"annotations,omitempty"`
	Taints                 []taintForm                `json:"taints,omitempty"`
	StartupTaints          []taintForm                `json:"startupTaints,omitempty"`
	NodeClassRef           *karpv1.NodeClassReference `json:"nodeClassRef,omitempty"`
	TerminationGracePeriod string                     `json:"terminationGracePeriod,omitempty"`
}

type taintForm struct {
	Key    string             `json:"key"`
	Value  string             `json:"value,omitempty"`
	Effect corev1.TaintEffect `json:"effect"`
}

// NodePool returns the hash of the static fields of np's template: labels,
// annotations, taints, startup taints, node class reference and termination
// grace period, as Karpenter hashes them. Requirements and expireAfter are
// not hashed: a node drifts from its requirements only when its labels stop
// satisfying them, and expiry is a lifetime, not a property of the node.
func NodePool(np *karpv1.NodePool) string {
	tmpl := &np.Spec.Template
	form := nodePoolForm{
		Labels:        nonEmpty(tmpl.ObjectMeta.Labels),
		Annotations:   nonEmpty(tmpl.ObjectMeta.Annotations),
		Taints:        taints(tmpl.Spec.Taints),
		StartupTaints: taints(tmpl.Spec.StartupTaints),
		NodeClassRef:  tmpl.Spec.NodeClassRef,
	}
	if tgp := tmpl.Spec.TerminationGracePeriod; tgp != nil {
		form.TerminationGracePeriod = tgp.Duration.String()
	}
	return sum(form)
}

// taints is a set of taints in a stable order; the time a taint was added
// is the node's business, not the template's.
func taints(in []corev1.Taint) []taintForm {
	if len(in) == 0 {
		return nil
	}
	out := make([]taintForm, len(in))
	for i, t := range in {
		out[i] = taintForm{Key: t.Key, Value: t.Value, Effect: t.Effect}
	}
	slices.SortFunc(out, func(a, b taintForm) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Effect, b.Effect), cmp.Compare(a.Value, b.Value))
	})
	return slices.Compact(out)
}

// nonEmpty makes an empty map absent, as a missing one is.
func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
