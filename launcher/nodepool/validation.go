package nodepool

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// validate makes the checks of a pool that its CRD's validation cannot:
// those across fields and those that need Tailor's knowledge. It returns
// every problem found, in words for the condition's message.
func validate(np *karpv1.NodePool) []string {
	var problems []string
	tmpl := &np.Spec.Template
	if ref := tmpl.Spec.NodeClassRef; ref != nil && (ref.Group != ec2v1.GroupVersion.Group || ref.Kind != "EC2NodeClass") {
		problems = append(problems, fmt.Sprintf("nodeClassRef names a %s of group %s; Tailor builds nodes from EC2NodeClasses of %s",
			ref.Kind, ref.Group, ec2v1.GroupVersion.Group))
	}
	for _, r := range tmpl.Spec.Requirements {
		if strings.HasPrefix(r.Key, wellknown.AWSGroup+"/instance-") && !wellknown.WellKnownLabels.Has(r.Key) {
			problems = append(problems, fmt.Sprintf("requirement on %s: no instance type has this label", r.Key))
		}
	}
	// The requirements and labels together must leave every key some value
	// (or its absence) that a node could have.
	reqs := requirements.FromNodeSelectorRequirementsWithMinValues(tmpl.Spec.Requirements...)
	for _, key := range sets.List(reqs.Keys()) {
		if r := reqs.Get(key); r.Empty() {
			problems = append(problems, fmt.Sprintf("the requirements on %s admit no value: no node can have them", key))
		}
	}
	labels := tmpl.ObjectMeta.Labels
	for _, key := range sets.List(sets.KeySet(labels)) {
		if r := reqs.Get(key); !r.Empty() && !r.Has(labels[key]) {
			problems = append(problems, fmt.Sprintf("label %s=%s is not allowed by the requirement %s", key, labels[key], r))
		}
	}
	for _, t := range append(append([]corev1.Taint(nil), tmpl.Spec.Taints...), tmpl.Spec.StartupTaints...) {
		if t.Key == wellknown.DisruptedTaintKey || t.Key == wellknown.UnregisteredTaintKey {
			problems = append(problems, fmt.Sprintf("taint %s is Tailor's own and may not be set by a NodePool", t.Key))
		}
	}
	return problems
}
