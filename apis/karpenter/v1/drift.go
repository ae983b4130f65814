package v1

// Reasons of the NodeClaim condition Drifted that the NodePool decides. The
// EC2NodeClass's reasons are in karpenter.k8s.aws/v1.
const (
	// DriftReasonNodePoolDrifted: the static fields of the pool's template
	// (labels, annotations, taints, startup taints, node class reference,
	// termination grace period) are not those the claim was made from.
	DriftReasonNodePoolDrifted = "NodePoolDrifted"
	// DriftReasonRequirementsDrifted: the claim's labels no longer satisfy
	// the pool's requirements.
	DriftReasonRequirementsDrifted = "RequirementsDrifted"
)
