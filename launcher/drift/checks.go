package drift

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// finding is why a claim drifted: the condition's reason and message.
type finding struct {
	reason  string
	message string
}

// staticPoolDrift compares the pool's template hash with the claim's. Only
// hashes of the same version compare; a claim or pool without one is not
// judged, as Karpenter does not.
func staticPoolDrift(np *karpv1.NodePool, claim *karpv1.NodeClaim) *finding {
	if !sameHash(np.Annotations, claim.Annotations, wellknown.NodePoolHashAnnotation, wellknown.NodePoolHashVersionAnnotation) {
		return &finding{karpv1.DriftReasonNodePoolDrifted, fmt.Sprintf(
			"NodePool %s's template changed since the NodeClaim was made: its labels, annotations, taints, startup taints, node class or termination grace period", np.Name)}
	}
	return nil
}

// staticClassDrift compares the class's hash with the one stamped on the
// claim at launch.
func staticClassDrift(nc *ec2v1.EC2NodeClass, claim *karpv1.NodeClaim) *finding {
	if !sameHash(nc.Annotations, claim.Annotations, wellknown.NodeClassHashAnnotation, ec2v1.AnnotationEC2NodeClassHashVersion) {
		return &finding{ec2v1.DriftReasonNodeClassDrift, fmt.Sprintf(
			"EC2NodeClass %s changed since the instance was launched: its user data, block devices, metadata options, tags, kubelet, role or another field that shapes an instance at launch", nc.Name)}
	}
	return nil
}

// sameHash reports whether owner and claim carry the same hash, or cannot
// be compared: a hash missing on either, or hashes of different versions.
func sameHash(owner, claim map[string]string, hashKey, versionKey string) bool {
	ownerHash, ok1 := owner[hashKey]
	ownerVersion, ok2 := owner[versionKey]
	claimHash, ok3 := claim[hashKey]
	claimVersion, ok4 := claim[versionKey]
	if !ok1 || !ok2 || !ok3 || !ok4 || ownerVersion != claimVersion {
		return true
	}
	return ownerHash == claimHash
}

// requirementsDrift judges the node's labels against the pool's
// requirements, as Karpenter does: a label the node has must be allowed, a
// custom label the pool requires must be there, and a well-known label the
// node lacks is not held against it.
func requirementsDrift(np *karpv1.NodePool, labels map[string]string) *finding {
	pool := requirements.FromNodeSelectorRequirementsWithMinValues(np.Spec.Template.Spec.Requirements...)
	if err := requirements.FromLabels(labels).Compatible(pool); err != nil {
		return &finding{karpv1.DriftReasonRequirementsDrifted, fmt.Sprintf(
			"the NodeClaim's labels no longer satisfy NodePool %s's requirements: %v", np.Name, err)}
	}
	return nil
}

// amiDrift compares the instance's image with the one the class would
// launch the claim's instance type with now: the first AMI of its status
// whose requirements the claim's labels meet, as a launch picks.
func amiDrift(nc *ec2v1.EC2NodeClass, claim *karpv1.NodeClaim) *finding {
	image := claim.Status.ImageID
	if _, ok := claim.Labels[wellknown.ArchLabel]; !ok {
		// Without the instance type's labels the image cannot be matched
		// to a requirement; it drifts only if the class lost it entirely.
		for _, ami := range nc.Status.AMIs {
			if ami.ID == image {
				return nil
			}
		}
		return &finding{ec2v1.DriftReasonAMIDrift, fmt.Sprintf("the instance runs %s, which EC2NodeClass %s no longer resolves to", image, nc.Name)}
	}
	for _, ami := range nc.Status.AMIs {
		if requirements.FromNodeSelectorRequirements(ami.Requirements...).MatchesLabels(claim.Labels) != nil {
			continue
		}
		if ami.ID == image {
			return nil
		}
		return &finding{ec2v1.DriftReasonAMIDrift, fmt.Sprintf(
			"the instance runs %s; EC2NodeClass %s now resolves to %s (%s) for it", image, nc.Name, ami.ID, ami.Name)}
	}
	return &finding{ec2v1.DriftReasonAMIDrift, fmt.Sprintf(
		"the instance runs %s; EC2NodeClass %s resolves to no AMI for its %s=%s", image, nc.Name, wellknown.ArchLabel, claim.Labels[wellknown.ArchLabel])}
}

// securityGroupDrift compares the instance's security groups with those the
// class selects: the sets must be equal.
func securityGroupDrift(nc *ec2v1.EC2NodeClass, network Network) *finding {
	selected := sets.New[string]()
	for _, g := range nc.Status.SecurityGroups {
		selected.Insert(g.ID)
	}
	if selected.Equal(sets.New(network.SecurityGroupIDs...)) {
		return nil
	}
	return &finding{ec2v1.DriftReasonSecurityGroupDrift, fmt.Sprintf(
		"the instance has security groups %s; EC2NodeClass %s selects %s",
		strings.Join(network.SecurityGroupIDs, ", "), nc.Name, strings.Join(sets.List(selected), ", "))}
}

// subnetDrift reports an instance in a subnet the class no longer selects.
func subnetDrift(nc *ec2v1.EC2NodeClass, network Network) *finding {
	if slices.ContainsFunc(nc.Status.Subnets, func(s ec2v1.Subnet) bool { return s.ID == network.SubnetID }) {
		return nil
	}
	return &finding{ec2v1.DriftReasonSubnetDrift, fmt.Sprintf(
		"the instance is in subnet %s, which EC2NodeClass %s no longer selects", network.SubnetID, nc.Name)}
}
