package nodeclass

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/tailor-project/tailor/apis/wellknown"
)

// variant is one build of an alias's AMI: the standard image, or one that
// carries the drivers of an accelerator. EKS publishes a separate image for
// NVIDIA GPUs and for AWS Inferentia and Trainium, because the standard
// image has neither driver and a node booted from it never advertises its
// devices: pods asking for nvidia.com/gpu or aws.amazon.com/neuron would
// wait on it forever.
type variant string

const (
	variantStandard variant = "standard"
	variantNVIDIA   variant = "nvidia"
	variantNeuron   variant = "neuron"
)

// requirements are what an instance type's labels must meet to boot the
// variant. Standard images go to types with neither GPUs nor accelerators,
// NVIDIA images to types with GPUs, Neuron images to types with
// accelerators; the status lists these beside the architecture so that a
// launch picks, per instance type, the image built for its hardware.
func (v variant) requirements() []corev1.NodeSelectorRequirement {
	switch v {
	case variantNVIDIA:
		return []corev1.NodeSelectorRequirement{
			{Key: wellknown.InstanceGPUCountLabel, Operator: corev1.NodeSelectorOpExists},
		}
	case variantNeuron:
		return []corev1.NodeSelectorRequirement{
			{Key: wellknown.InstanceAcceleratorCountLabel, Operator: corev1.NodeSelectorOpExists},
		}
	}
	return []corev1.NodeSelectorRequirement{
		{Key: wellknown.InstanceAcceleratorCountLabel, Operator: corev1.NodeSelectorOpDoesNotExist},
		{Key: wellknown.InstanceGPUCountLabel, Operator: corev1.NodeSelectorOpDoesNotExist},
	}
}

// aliasImage is one SSM parameter an alias reads, and the variants the
// image it names serves. One image may serve several: AL2's GPU image has
// both NVIDIA and Neuron drivers, and Bottlerocket's standard x86_64 image
// ships the Neuron driver.
type aliasImage struct {
	parameter string
	variants  []variant
}
