package v1

// AnnotationEC2NodeClassHashVersion records the version of the hash in the
// karpenter.k8s.aws/ec2nodeclass-hash annotation (wellknown.NodeClassHashAnnotation)
// of an EC2NodeClass and of the NodeClaims launched from it: hashes of
// different versions are not compared.
const AnnotationEC2NodeClassHashVersion = "karpenter.k8s.aws/ec2nodeclass-hash-version"

// Reasons of the NodeClaim condition Drifted that the EC2NodeClass decides.
const (
	// DriftReasonAMIDrift: the class no longer resolves to the image the
	// instance runs.
	DriftReasonAMIDrift = "AMIDrift"
	// DriftReasonSubnetDrift: the instance's subnet is no longer selected.
	DriftReasonSubnetDrift = "SubnetDrift"
	// DriftReasonSecurityGroupDrift: the instance's security groups are not
	// those the class selects.
	DriftReasonSecurityGroupDrift = "SecurityGroupDrift"
	// DriftReasonNodeClassDrift: the class's static fields (user data, block
	// devices, metadata options, tags, kubelet, role, ...) are not those the
	// instance was launched with.
	DriftReasonNodeClassDrift = "NodeClassDrift"
)
