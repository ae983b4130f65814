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

// aliasImages lists the public SSM parameters that name the AMIs of an alias
// for one architecture and Kubernetes version, each with the variants its
// image serves; none when the family publishes no AMI for the architecture
// (Windows on arm64). A variant EKS does not build for the architecture
// (Neuron on arm64) is not asked for.
func aliasImages(a alias, arch, kubernetesVersion string) []aliasImage {
	latest := a.version == "latest"
	switch a.family {
	case ec2v1.AMIFamilyAL2023:
		variants := []variant{variantStandard, variantNVIDIA}
		if arch == wellknown.ArchAMD64 {
			variants = append(variants, variantNeuron)
		}
		var out []aliasImage
		for _, v := range variants {
			base := fmt.Sprintf("/aws/service/eks/optimized-ami/%s/amazon-linux-2023/%s/%s/", kubernetesVersion, ec2Arch[arch], v)
			name := base + "recommended/image_id"
			if !latest {
				name = fmt.Sprintf("%samazon-eks-node-al2023-%s-%s-%s-%s/image_id", base, ec2Arch[arch], v, kubernetesVersion, a.version)
			}
			out = append(out, aliasImage{parameter: name, variants: []variant{v}})
		}
		return out
	case ec2v1.AMIFamilyAL2:
		type build struct {
			path, name string
			variants   []variant
		}
		builds := []build{{"amazon-linux-2-arm64", "amazon-eks-arm64-node", []variant{variantStandard}}}
		if arch == wellknown.ArchAMD64 {
			// AL2 has one accelerated image, x86_64 only, with both the
			// NVIDIA and the Neuron drivers.
			builds = []build{
				{"amazon-linux-2", "amazon-eks-node", []variant{variantStandard}},
				{"amazon-linux-2-gpu", "amazon-eks-gpu-node", []variant{variantNVIDIA, variantNeuron}},
			}
		}
		var out []aliasImage
		for _, b := range builds {
			base := fmt.Sprintf("/aws/service/eks/optimized-ami/%s/%s/", kubernetesVersion, b.path)
			name := base + "recommended/image_id"
			if !latest {
				name = fmt.Sprintf("%s%s-%s-%s/image_id", base, b.name, kubernetesVersion, a.version)
			}
			out = append(out, aliasImage{parameter: name, variants: b.variants})
		}
		return out
	case ec2v1.AMIFamilyBottlerocket:
		version := "latest"
		if !latest {
			version = strings.TrimPrefix(a.version, "v")
		}
		standard := []variant{variantStandard}
		if arch == wellknown.ArchAMD64 {
			// Bottlerocket's standard x86_64 image ships the Neuron
			// driver; there is no separate Neuron build.
			standard = append(standard, variantNeuron)
		}
		return []aliasImage{
			{parameter: fmt.Sprintf("/aws/service/bottlerocket/aws-k8s-%s/%s/%s/image_id", kubernetesVersion, ec2Arch[arch], version), variants: standard},
			{parameter: fmt.Sprintf("/aws/service/bottlerocket/aws-k8s-%s-nvidia/%s/%s/image_id", kubernetesVersion, ec2Arch[arch], version), variants: []variant{variantNVIDIA}},
		}
	case ec2v1.AMIFamilyWindows2019, ec2v1.AMIFamilyWindows2022, ec2v1.AMIFamilyWindows2025:
		if arch != wellknown.ArchAMD64 {
			return nil
		}
		// EKS builds one Windows image; it serves every x86_64 type.
		server := strings.TrimPrefix(a.family, "Windows")
		return []aliasImage{{parameter: fmt.Sprintf("/aws/service/ami-windows-latest/Windows_Server-%s-English-Core-EKS_Optimized-%s/image_id", server, kubernetesVersion)}}
	}
	return nil
}
