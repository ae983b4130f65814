package fleet

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	kubeletapis "k8s.io/kubelet/pkg/apis"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/userdata"
)

// Cluster locates the API server nodes join.
type Cluster struct {
	Name     string
	Endpoint string
	// CABundle is the base64 of the cluster's PEM CA certificates.
	CABundle string
	// CIDR is the service CIDR; optional.
	CIDR string
}

// NodeLabels are the labels a claim's node registers with: the claim's own
// and every label its requirements decide, and the node class. Labels in the
// kubernetes.io and k8s.io domains that kubelet may not set on itself are
// left out (kubelet refuses to start with them); the launcher puts them on
// the Node when it registers.
func NodeLabels(claim *karpv1.NodeClaim) map[string]string {
	labels := requirements.FromNodeSelectorRequirementsWithMinValues(claim.Spec.Requirements...).Labels()
	for k, v := range claim.Labels {
		labels[k] = v
	}
	if claim.Spec.NodeClassRef != nil {
		labels[wellknown.EC2NodeClassLabel] = claim.Spec.NodeClassRef.Name
	}
	for k := range labels {
		if restrictedForKubelet(k) {
			delete(labels, k)
		}
	}
	return labels
}

// restrictedForKubelet reports whether kubelet refuses a label of its own:
// one in the kubernetes.io or k8s.io domains that is not a kubelet label.
func restrictedForKubelet(key string) bool {
	domain, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	for _, restricted := range []string{"kubernetes.io", "k8s.io"} {
		if domain == restricted || strings.HasSuffix(domain, "."+restricted) {
			return !kubeletapis.IsKubeletLabel(key)
		}
	}
	return false
}

// NodeTaints are the taints a claim's node registers with: its taints, its
// startup taints, and karpenter.sh/unregistered, which keeps pods off it
// until the launcher has linked it to the claim.
func NodeTaints(claim *karpv1.NodeClaim) []corev1.Taint {
	taints := make([]corev1.Taint, 0, len(claim.Spec.Taints)+len(claim.Spec.StartupTaints)+1)
	taints = append(taints, claim.Spec.Taints...)
	taints = append(taints, claim.Spec.StartupTaints...)
	return append(taints, wellknown.UnregisteredNoExecuteTaint)
}

// userDataConfig is the user data input for a claim's node built from a
// class, for instance types whose pod limit is maxPods (nil to let the AMI
// decide).
func userDataConfig(cluster Cluster, claim *karpv1.NodeClaim, nc *ec2v1.EC2NodeClass, maxPods *int32) userdata.Config {
	cfg := userdata.Config{
		ClusterName:     cluster.Name,
		ClusterEndpoint: cluster.Endpoint,
		ClusterCABundle: cluster.CABundle,
		ClusterCIDR:     cluster.CIDR,
		Labels:          NodeLabels(claim),
		Taints:          NodeTaints(claim),
		Kubelet:         nc.Spec.Kubelet,
		MaxPods:         maxPods,
		RAID0:           nc.Spec.InstanceStorePolicy != nil && *nc.Spec.InstanceStorePolicy == ec2v1.InstanceStorePolicyRAID0,
	}
	if nc.Spec.UserData != nil {
		cfg.Custom = *nc.Spec.UserData
	}
	return cfg
}

// writesPodLimit reports whether the user data must carry the pod limit the
// catalog planned: when the class decides it itself, and on Windows, whose
// AMI computes none and would leave kubelet at its default of 110, more
// than the primary interface can address. Otherwise the AMI computes the
// ENI limit from the instance type, as the catalog assumes.
func writesPodLimit(nc *ec2v1.EC2NodeClass, family string) bool {
	if strings.HasPrefix(family, "Windows") {
		return true
	}
	k := nc.Spec.Kubelet
	return k != nil && (k.MaxPods != nil || k.PodsPerCore != nil)
}
