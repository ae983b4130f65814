// Package tags names the AWS tags Tailor puts on everything it creates in an
// account: instances, volumes, launch templates and instance profiles. The
// tags are how Tailor finds its resources again after a restart, how garbage
// collection tells a leaked instance from someone else's, and how a person
// reading the EC2 console tells which NodeClaim an instance belongs to. They
// are Karpenter's keys, so cost reports and IAM conditions written for
// Karpenter keep working.
package tags

import (
	"maps"

	"github.com/tailor-project/tailor/apis/wellknown"
)

// Tag keys.
const (
	// NodePool names the NodePool an instance was launched for.
	NodePool = wellknown.NodePoolLabel
	// NodeClaim names the NodeClaim an instance was launched for. A launcher
	// that restarts between CreateFleet and recording the instance on the
	// claim finds the instance by this tag instead of launching another.
	NodeClaim = wellknown.Group + "/nodeclaim"
	// NodeClass names the EC2NodeClass an instance, template or profile was
	// made from.
	NodeClass = wellknown.EC2NodeClassLabel
	// EKSClusterName is the tag EKS reads to attribute an instance to a
	// cluster in its console and cost reports.
	EKSClusterName = "eks:eks-cluster-name"
	// ManagedBy marks launch templates and instance profiles that Tailor
	// created for a cluster and will delete again; its value is the cluster.
	ManagedBy = wellknown.Group + "/managed-by"
	// Cluster names the cluster on launch templates, the key Karpenter
	// filters its own templates by, so a cluster moving from Karpenter finds
	// the same tags.
	Cluster = wellknown.AWSGroup + "/cluster"
)

// clusterPrefix starts the tag that kubernetes' cloud integrations use to
// tell which cluster owns a resource.
const clusterPrefix = "kubernetes.io/cluster/"

// Owned is the value of ClusterKey on resources the cluster owns.
const Owned = "owned"

// ClusterKey is kubernetes.io/cluster/<name>, tagged "owned" on every
// resource Tailor creates for the cluster.
func ClusterKey(clusterName string) string {
	return clusterPrefix + clusterName
}

// Instance returns the tags of an instance and its volumes: the class's own
// tags first, then the ones Tailor owns, which the EC2NodeClass CRD does not
// let the class override.
func Instance(clusterName, nodeClass, nodePool, nodeClaim string, classTags map[string]string) map[string]string {
	out := make(map[string]string, len(classTags)+5)
	maps.Copy(out, classTags)
	out[ClusterKey(clusterName)] = Owned
	out[EKSClusterName] = clusterName
	out[NodeClass] = nodeClass
	if nodePool != "" {
		out[NodePool] = nodePool
	}
	out[NodeClaim] = nodeClaim
	return out
}

// OwnedBy returns the tags of a launch template or instance profile Tailor
// creates for a node class, by which it finds and deletes them later.
func OwnedBy(clusterName, nodeClass string, classTags map[string]string) map[string]string {
	out := make(map[string]string, len(classTags)+5)
	maps.Copy(out, classTags)
	out[ClusterKey(clusterName)] = Owned
	out[EKSClusterName] = clusterName
	out[ManagedBy] = clusterName
	out[Cluster] = clusterName
	out[NodeClass] = nodeClass
	return out
}
