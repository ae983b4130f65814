package v1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodePoolSpec is the template, limits, disruption policy and weight of a group
// of nodes that Tailor may create.
type NodePoolSpec struct {
	// Template is what every NodeClaim of the pool starts from.
	// +required
	Template NodeClaimTemplate `json:"template"`
	// Disruption says when Tailor may take the pool's nodes away.
	// +optional
	// +kubebuilder:default:={consolidateAfter: "0s"}
	Disruption Disruption `json:"disruption"`
	// Limits cap the sum of the capacity of the pool's nodes; a pod whose node
	// would cross a limit goes to another pool or waits.
	// +optional
	Limits Limits `json:"limits,omitempty"`
	// Weight orders pools: a pod goes to the heaviest pool that can host it.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Weight *int32 `json:"weight,omitempty"`
}

// Limits are resource totals, cpu and memory most often.
type Limits corev1.ResourceList

// ConsolidationPolicy says which nodes consolidation may remove or replace.
// +kubebuilder:validation:Enum=WhenEmpty;WhenEmptyOrUnderutilized
type ConsolidationPolicy string

// Consolidation policies.
const (
	ConsolidationPolicyWhenEmpty                ConsolidationPolicy = "WhenEmpty"
	ConsolidationPolicyWhenEmptyOrUnderutilized ConsolidationPolicy = "WhenEmptyOrUnderutilized"
)

// Disruption holds the pool's disruption policy.
type Disruption struct {
	// ConsolidateAfter is how long a node must go without a pod being added or
	// removed before consolidation considers it, or Never.
	// +optional
	// +kubebuilder:default:="0s"
	ConsolidateAfter NillableDuration `json:"consolidateAfter"`
	// ConsolidationPolicy says which nodes consolidation may act on.
	// +optional
	// +kubebuilder:default:=WhenEmptyOrUnderutilized
	ConsolidationPolicy ConsolidationPolicy `json:"consolidationPolicy,omitempty"`
	// Budgets cap how many of the pool's nodes may be disrupted at once; the
	// most restrictive active budget wins.
	// +optional
	// +listType=atomic
	// +kubebuilder:default:={{nodes: "10%"}}
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:XValidation:message="schedule and duration go together: set both or neither",rule="self.all(b, has(b.schedule) == has(b.duration))"
	Budgets []Budget `json:"budgets,omitempty"`
}

// DisruptionReason is why a node is disrupted.
// +kubebuilder:validation:Enum=Underutilized;Empty;Drifted
type DisruptionReason string

// Disruption reasons a budget may name.
const (
	DisruptionReasonUnderutilized DisruptionReason = "Underutilized"
	DisruptionReasonEmpty         DisruptionReason = "Empty"
	DisruptionReasonDrifted       DisruptionReason = "Drifted"
)

// Budget caps disruption of the pool's nodes, for some reasons, at some times.
type Budget struct {
	// Reasons the budget applies to; all when empty.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=3
	Reasons []DisruptionReason `json:"reasons,omitempty"`
	// Nodes is how many nodes may be disrupted at once: a count ("5") or a
	// percent of the pool's nodes ("10%"), rounded up.
	// +required
	// +kubebuilder:default:="10%"
	// +kubebuilder:validation:Pattern=`^((100|[0-9]{1,2})%|[0-9]+)$`
	Nodes string `json:"nodes"`
	// Schedule is a cron expression (UTC) for when the budget starts to apply;
	// it applies for Duration from then. Without a schedule the budget always applies.
	// +optional
	// +kubebuilder:validation:MaxLength=100
	// +kubebuilder:validation:XValidation:message="schedule must be a cron expression of five fields (minute hour day-of-month month day-of-week, names such as MON-FRI allowed) or a macro such as @daily",rule="self.matches('^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\\\\*|([0-5]?[0-9])(-([0-5]?[0-9]))?)(/[0-9]{1,2})?(,(\\\\*|([0-5]?[0-9])(-([0-5]?[0-9]))?)(/[0-9]{1,2})?)* (\\\\*|([01]?[0-9]|2[0-3])(-([01]?[0-9]|2[0-3]))?)(/[0-9]{1,2})?(,(\\\\*|([01]?[0-9]|2[0-3])(-([01]?[0-9]|2[0-3]))?)(/[0-9]{1,2})?)* (\\\\*|\\\\?|(0?[1-9]|[12][0-9]|3[01])(-(0?[1-9]|[12][0-9]|3[01]))?)(/[0-9]{1,2})?(,(\\\\*|\\\\?|(0?[1-9]|[12][0-9]|3[01])(-(0?[1-9]|[12][0-9]|3[01]))?)(/[0-9]{1,2})?)* (\\\\*|(0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))(-(0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)))?)(/[0-9]{1,2})?(,(\\\\*|(0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))(-(0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)))?)(/[0-9]{1,2})?)* (\\\\*|\\\\?|([0-7]|(?i:sun|mon|tue|wed|thu|fri|sat))(-([0-7]|(?i:sun|mon|tue|wed|thu|fri|sat)))?)(/[0-9]{1,2})?(,(\\\\*|\\\\?|([0-7]|(?i:sun|mon|tue|wed|thu|fri|sat))(-([0-7]|(?i:sun|mon|tue|wed|thu|fri|sat)))?)(/[0-9]{1,2})?)*)$')"
	Schedule *string `json:"schedule,omitempty"`
	// Duration is how long the budget applies after each Schedule tick.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$`
	Duration *metav1.Duration `json:"duration,omitempty"`
}

// NodeClaimTemplate is the metadata and spec every claim of a pool starts from.
type NodeClaimTemplate struct {
	// +optional
	ObjectMeta ObjectMeta `json:"metadata,omitempty"`
	// +required
	Spec NodeClaimTemplateSpec `json:"spec"`
}

// ObjectMeta is the part of object metadata a template may set.
type ObjectMeta struct {
	// Labels are put on every node of the pool.
	// +optional
	// +kubebuilder:validation:MaxProperties=100
	// +kubebuilder:validation:XValidation:message="label \"karpenter.sh/nodepool\" is restricted: it is set from the NodePool's name",rule="self.all(k, k != 'karpenter.sh/nodepool')"
	// +kubebuilder:validation:XValidation:message="label \"kubernetes.io/hostname\" is restricted: every node gets its own",rule="self.all(k, k != 'kubernetes.io/hostname')"
	// +kubebuilder:validation:XValidation:message="label domain \"karpenter.k8s.aws\" is restricted: instance-type labels come from the instance type",rule="self.all(k, !k.find('^[^/]+').endsWith('karpenter.k8s.aws'))"
	// +kubebuilder:validation:XValidation:message="label domain \"karpenter.sh\" is restricted",rule="self.all(k, !k.find('^[^/]+').endsWith('karpenter.sh'))"
	// +kubebuilder:validation:XValidation:message="label keys must be qualified names of at most 316 characters",rule="self.all(k, size(k) <= 316 && k.matches('^(([a-zA-Z0-9]|[a-zA-Z0-9][-a-zA-Z0-9]*[a-zA-Z0-9])\\\\.)*([a-zA-Z0-9]|[a-zA-Z0-9][-a-zA-Z0-9]*[a-zA-Z0-9])(/(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]))?$'))"
	// +kubebuilder:validation:XValidation:message="label values must be at most 63 characters",rule="self.all(k, size(self[k]) <= 63)"
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations are put on every node of the pool.
	// +optional
	// +kubebuilder:validation:MaxProperties=100
	Annotations map[string]string `json:"annotations,omitempty"`
}

// NodeClaimTemplateSpec is a NodeClaimSpec without the resources, which
// depend on the pods a claim is made for.
type NodeClaimTemplateSpec struct {
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:XValidation:message="taint effect must be NoSchedule, PreferNoSchedule or NoExecute",rule="self.all(t, t.effect in ['NoSchedule', 'PreferNoSchedule', 'NoExecute'])"
	Taints []corev1.Taint `json:"taints,omitempty"`
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:XValidation:message="taint effect must be NoSchedule, PreferNoSchedule or NoExecute",rule="self.all(t, t.effect in ['NoSchedule', 'PreferNoSchedule', 'NoExecute'])"
	StartupTaints []corev1.Taint `json:"startupTaints,omitempty"`
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	Requirements []NodeSelectorRequirementWithMinValues `json:"requirements"`
	// NodeClassRef names the EC2NodeClass the pool's nodes are built from;
	// the EC2NodeClass named "default" when left out.
	// +optional
	// +kubebuilder:default:={group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "default"}
	NodeClassRef *NodeClassReference `json:"nodeClassRef,omitempty"`
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(s|m|h))+$`
	TerminationGracePeriod *metav1.Duration `json:"terminationGracePeriod,omitempty"`
	// +optional
	// +kubebuilder:default:="720h"
	ExpireAfter NillableDuration `json:"expireAfter,omitempty"`
}

// NodePoolStatus is what the pool holds now.
type NodePoolStatus struct {
	// Resources are the sums of the capacity of the pool's nodes, with "nodes" the count.
	// +optional
	Resources corev1.ResourceList `json:"resources,omitempty"`
	// Nodes is the number of nodes (NodeClaims) in the pool.
	// +optional
	Nodes int64 `json:"nodes,omitempty"`
	// NodeClassObservedGeneration is the generation of the node class last seen Ready.
	// +optional
	NodeClassObservedGeneration int64 `json:"nodeClassObservedGeneration,omitempty"`
	// Conditions: Ready, ValidationSucceeded, NodeClassReady.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// NodePool is a group of nodes Tailor may create, with their template, limits,
// disruption policy and weight.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=nodepools,scope=Cluster,categories=karpenter
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="NodeClass",type=string,JSONPath=`.spec.template.spec.nodeClassRef.name`
// +kubebuilder:printcolumn:name="Nodes",type=string,JSONPath=`.status.resources.nodes`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Weight",type=integer,JSONPath=`.spec.weight`,priority=1
// +kubebuilder:printcolumn:name="CPU",type=string,JSONPath=`.status.resources.cpu`,priority=1
// +kubebuilder:printcolumn:name="Memory",type=string,JSONPath=`.status.resources.memory`,priority=1
type NodePool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   NodePoolSpec   `json:"spec,omitempty"`
	Status NodePoolStatus `json:"status,omitempty"`
}

// NodePoolList is a list of NodePools.
//
// +kubebuilder:object:root=true
type NodePoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NodePool `json:"items"`
}

func init() {
	SchemeBuilder.Register(&NodePool{}, &NodePoolList{})
}
