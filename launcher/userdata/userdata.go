package userdata

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
)

// Config is what a node needs to know to join the cluster as planned.
type Config struct {
	// ClusterName, ClusterEndpoint and ClusterCABundle (base64 of the PEM
	// certificates) locate the API server.
	ClusterName     string
	ClusterEndpoint string
	ClusterCABundle string
	// ClusterCIDR is the service CIDR nodeadm needs; optional.
	ClusterCIDR string
	// Labels are the node's labels at registration.
	Labels map[string]string
	// Taints are the node's taints at registration: the claim's taints and
	// startup taints and karpenter.sh/unregistered.
	Taints []corev1.Taint
	// Kubelet is the node class's kubelet block; nil for none.
	Kubelet *ec2v1.KubeletConfiguration
	// MaxPods overrides Kubelet.MaxPods: the limit resolved for the
	// instance types the user data is for, when the class sets one.
	MaxPods *int32
	// Custom is the node class's own user data; empty for none.
	Custom string
	// RAID0 asks the node to stripe its instance-store NVMe disks into one
	// array and keep kubelet's and the runtime's state there: the class's
	// instanceStorePolicy RAID0, which the catalog has already counted as
	// the node's ephemeral storage.
	RAID0 bool
}

// Render returns the user data of a node of the AMI family, in plain text
// (EC2 wants it base64-encoded).
func Render(family string, cfg Config) (string, error) {
	switch family {
	case ec2v1.AMIFamilyAL2023:
		return renderAL2023(cfg)
	case ec2v1.AMIFamilyAL2:
		return renderAL2(cfg)
	case ec2v1.AMIFamilyBottlerocket:
		return renderBottlerocket(cfg)
	case ec2v1.AMIFamilyWindows2019, ec2v1.AMIFamilyWindows2022, ec2v1.AMIFamilyWindows2025:
		return renderWindows(cfg)
	case ec2v1.AMIFamilyCustom:
		return cfg.Custom, nil
	}
	return "", fmt.Errorf("unknown AMI family %q", family)
}

// Validate reports whether a node class's own user data can be merged with
// what Tailor writes for the family, and why not.
func Validate(family, custom string) error {
	if custom == "" {
		return nil
	}
	var err error
	switch family {
	case ec2v1.AMIFamilyAL2023:
		_, err = al2023Parts(custom)
	case ec2v1.AMIFamilyAL2:
		_, err = al2Parts(custom)
	case ec2v1.AMIFamilyBottlerocket:
		_, err = parseBottlerocket(custom)
	case ec2v1.AMIFamilyWindows2019, ec2v1.AMIFamilyWindows2022, ec2v1.AMIFamilyWindows2025:
		_, err = windowsScript(custom)
	case ec2v1.AMIFamilyCustom:
	default:
		err = fmt.Errorf("unknown AMI family %q", family)
	}
	if err != nil {
		return fmt.Errorf("userData is not valid for AMI family %s: %w", family, err)
	}
	return nil
}
