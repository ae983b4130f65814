package v1

import (
	corev1 "k8s.io/api/core/v1"
)

// NodeSelectorRequirementWithMinValues is a node selector requirement that may
// also ask for flexibility: at least MinValues distinct values of Key must stay
// possible among the instance types a claim offers the launcher.
//
// +kubebuilder:validation:XValidation:message="operator In needs at least one value",rule="self.operator != 'In' || (has(self.values) && size(self.values) > 0)"
// +kubebuilder:validation:XValidation:message="operators Gt and Lt take exactly one value, a non-negative integer",rule="!(self.operator in ['Gt', 'Lt']) || (has(self.values) && size(self.values) == 1 && self.values[0].matches('^[0-9]+$'))"
// +kubebuilder:validation:XValidation:message="operators Exists and DoesNotExist take no values",rule="!(self.operator in ['Exists', 'DoesNotExist']) || !has(self.values) || size(self.values) == 0"
// +kubebuilder:validation:XValidation:message="minValues must not be larger than the number of values given to operator In",rule="!has(self.minValues) || self.operator != 'In' || (has(self.values) && self.minValues <= size(self.values))"
type NodeSelectorRequirementWithMinValues struct {
	// Key is the label key the requirement constrains.
	// +required
	// +kubebuilder:validation:MaxLength=316
	// +kubebuilder:validation:Pattern=`^(([a-zA-Z0-9]|[a-zA-Z0-9][-a-zA-Z0-9]*[a-zA-Z0-9])\.)*([a-zA-Z0-9]|[a-zA-Z0-9][-a-zA-Z0-9]*[a-zA-Z0-9])(/(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]))?$`
	// +kubebuilder:validation:XValidation:message="label \"kubernetes.io/hostname\" is restricted: every node gets its own",rule="self != 'kubernetes.io/hostname'"
	// +kubebuilder:validation:XValidation:message="label \"karpenter.sh/nodepool\" is restricted: it is set from the NodePool's name",rule="self != 'karpenter.sh/nodepool'"
	// +kubebuilder:validation:XValidation:message="label domain \"karpenter.sh\" is restricted: only karpenter.sh/capacity-type may be required",rule="self == 'karpenter.sh/capacity-type' || !self.find('^[^/]+').endsWith('karpenter.sh')"
	// +kubebuilder:validation:XValidation:message="label domain \"kubernetes.io\" is restricted: only the well-known topology, arch, os and instance-type keys and node.kubernetes.io or node-restriction.kubernetes.io keys may be required",rule="self in ['topology.kubernetes.io/zone', 'topology.kubernetes.io/region', 'kubernetes.io/arch', 'kubernetes.io/os', 'node.kubernetes.io/instance-type', 'node.kubernetes.io/windows-build', 'beta.kubernetes.io/instance-type', 'beta.kubernetes.io/os', 'beta.kubernetes.io/arch', 'failure-domain.beta.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/region'] || self.find('^[^/]+').endsWith('node.kubernetes.io') || self.find('^[^/]+').endsWith('node-restriction.kubernetes.io') || !self.find('^[^/]+').endsWith('kubernetes.io')"
	// +kubebuilder:validation:XValidation:message="label domain \"k8s.io\" is restricted",rule="!self.find('^[^/]+').endsWith('k8s.io')"
	// +kubebuilder:validation:XValidation:message="label domain \"karpenter.k8s.aws\" is restricted: only the instance-* keys of instance types may be required",rule="!self.find('^[^/]+').endsWith('karpenter.k8s.aws') || self.startsWith('karpenter.k8s.aws/instance-')"
	Key string `json:"key"`
	// Operator relates the key to the values.
	// +required
	// +kubebuilder:validation:Enum=In;NotIn;Exists;DoesNotExist;Gt;Lt
	Operator corev1.NodeSelectorOperator `json:"operator"`
	// Values are the label values; one integer for Gt and Lt, none for Exists and DoesNotExist.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`
	Values []string `json:"values,omitempty"`
	// MinValues is the least number of distinct values of Key that the
	// instance types offered for a node must span, so the launcher keeps enough
	// choice (spot diversity, say).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=50
	MinValues *int `json:"minValues,omitempty"`
}

// NodeSelectorRequirement returns the requirement without MinValues, as the core API spells it.
func (r NodeSelectorRequirementWithMinValues) NodeSelectorRequirement() corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: r.Key, Operator: r.Operator, Values: r.Values}
}

// NodeClassReference names the provider-specific class a node is built from.
type NodeClassReference struct {
	// Kind of the referent, EC2NodeClass for AWS.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:XValidation:message="kind may not be empty",rule="self != ''"
	Kind string `json:"kind"`
	// Name of the referent.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:XValidation:message="name may not be empty",rule="self != ''"
	Name string `json:"name"`
	// Group of the referent, karpenter.k8s.aws for AWS.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:Pattern=`^[^/]*$`
	// +kubebuilder:validation:XValidation:message="group may not be empty",rule="self != ''"
	Group string `json:"group"`
}
