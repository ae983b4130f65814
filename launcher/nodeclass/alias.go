package nodeclass

import (
	"fmt"
	"strings"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// ec2Arch is EC2's name of a Kubernetes architecture, as the public SSM
// parameters spell it.
var ec2Arch = map[string]string{
	wellknown.ArchAMD64: "x86_64",
	wellknown.ArchARM64: "arm64",
}

// aliasParameter is the public SSM parameter that names the AMI of an alias
// for one architecture and Kubernetes version; "" when the family publishes
// no AMI for the architecture (Windows on arm64).
func aliasParameter(a alias, arch, kubernetesVersion string) string {
	latest := a.version == "latest"
	switch a.family {
	case ec2v1.AMIFamilyAL2023:
		base := fmt.Sprintf("/aws/service/eks/optimized-ami/%s/amazon-linux-2023/%s/standard/", kubernetesVersion, ec2Arch[arch])
		if latest {
			return base + "recommended/image_id"
		}
		return fmt.Sprintf("%samazon-eks-node-al2023-%s-standard-%s-%s/image_id", base, ec2Arch[arch], kubernetesVersion, a.version)
	case ec2v1.AMIFamilyAL2:
		path, name := "amazon-linux-2", "amazon-eks-node"
		if arch == wellknown.ArchARM64 {
			path, name = "amazon-linux-2-arm64", "amazon-eks-arm64-node"
		}
		base := fmt.Sprintf("/aws/service/eks/optimized-ami/%s/%s/", kubernetesVersion, path)
		if latest {
			return base + "recommended/image_id"
		}
		return fmt.Sprintf("%s%s-%s-%s/image_id", base, name, kubernetesVersion, a.version)
	case ec2v1.AMIFamilyBottlerocket:
		version := "latest"
		if !latest {
			version = strings.TrimPrefix(a.version, "v")
		}
		return fmt.Sprintf("/aws/service/bottlerocket/aws-k8s-%s/%s/%s/image_id", kubernetesVersion, ec2Arch[arch], version)
	case ec2v1.AMIFamilyWindows2019, ec2v1.AMIFamilyWindows2022, ec2v1.AMIFamilyWindows2025:
		if arch != wellknown.ArchAMD64 {
			return ""
		}
		server := strings.TrimPrefix(a.family, "Windows")
		return fmt.Sprintf("/aws/service/ami-windows-latest/Windows_Server-%s-English-Core-EKS_Optimized-%s/image_id", server, kubernetesVersion)
	}
	return ""
}
