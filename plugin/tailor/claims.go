package tailor

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tailor-project/tailor/apis/hash"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/reservation"
	"github.com/tailor-project/tailor/plugin/solver"
)

// PriceAnnotation records the hourly price the solver planned a claim at:
// its cheapest instance type's cheapest offering.
const PriceAnnotation = "tailor.sh/planned-price"

// nodeClaimFor writes a planned node as a NodeClaim: the pool's template,
// the requirements narrowed by its pods, the instance types that hold them
// cheapest first, and the pods it is for.
func nodeClaimFor(n *solver.Node, now time.Time) (*karpv1.NodeClaim, error) {
	np := n.Pool.NodePool
	tmpl := np.Spec.Template
	reqs := make(requirements.Requirements, len(n.Requirements)+1)
	for k, r := range n.Requirements {
		// The pool's name and the hostname are labels, not choices.
		if wellknown.RestrictedLabels.Has(k) {
			continue
		}
		reqs[k] = r
	}
	names := make([]string, len(n.InstanceTypes))
	for i, it := range n.InstanceTypes {
		names[i] = it.Name
	}
	reqs.Add(requirements.NewRequirementWithMinValues(wellknown.InstanceTypeLabel, corev1.NodeSelectorOpIn, minValues(n.Requirements, wellknown.InstanceTypeLabel), names...))
	specReqs := reqs.NodeSelectorRequirements()
	// The algebra sorts values; the launcher and the pool's limits read the
	// types cheapest first.
	for i := range specReqs {
		if specReqs[i].Key == wellknown.InstanceTypeLabel {
			specReqs[i].Values = names
		}
	}

	labels := map[string]string{}
	for k, v := range tmpl.ObjectMeta.Labels {
		labels[k] = v
	}
	for k, v := range reqs.Labels() {
		labels[k] = v
	}
	labels[wellknown.NodePoolLabel] = np.Name
	annotations := map[string]string{}
	for k, v := range tmpl.ObjectMeta.Annotations {
		annotations[k] = v
	}
	pods := make([]reservation.Pod, len(n.Pods))
	for i, p := range n.Pods {
		pods[i] = reservation.Pod{UID: p.UID, Namespace: p.Namespace, Name: p.Name, Since: now}
	}
	reserved, err := reservation.Encode(pods)
	if err != nil {
		return nil, err
	}
	annotations[reservation.Annotation] = reserved
	// The hash of the template the claim is made from, against which the
	// launcher judges whether the pool has drifted from the node since.
	annotations[wellknown.NodePoolHashAnnotation] = hash.NodePool(np)
	annotations[wellknown.NodePoolHashVersionAnnotation] = hash.NodePoolVersion
	annotations[PriceAnnotation] = fmt.Sprintf("%.4f", n.Price)

	return &karpv1.NodeClaim{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: np.Name + "-",
			Labels:       labels,
			Annotations:  annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion:         karpv1.GroupVersion.String(),
				Kind:               "NodePool",
				Name:               np.Name,
				UID:                np.UID,
				BlockOwnerDeletion: ptrTo(true),
			}},
		},
		Spec: karpv1.NodeClaimSpec{
			Taints:                 tmpl.Spec.Taints,
			StartupTaints:          tmpl.Spec.StartupTaints,
			Requirements:           specReqs,
			Resources:              karpv1.ResourceRequirements{Requests: n.Requests()},
			NodeClassRef:           tmpl.Spec.NodeClassRef,
			TerminationGracePeriod: tmpl.Spec.TerminationGracePeriod,
			ExpireAfter:            tmpl.Spec.ExpireAfter,
		},
	}, nil
}

func minValues(reqs requirements.Requirements, key string) *int {
	if r, ok := reqs[key]; ok {
		return r.MinValues
	}
	return nil
}

func ptrTo[T any](v T) *T { return &v }

// describeClaim is the one line a pod's event gives its claim:
// "NodeClaim default-x7k2p: c7i.xlarge or 4 more, us-east-1a, on-demand,
// $0.178/h, for 3 pods".
func describeClaim(name string, n *solver.Node) string {
	return fmt.Sprintf("NodeClaim %s: %s", name, n.Summary())
}
