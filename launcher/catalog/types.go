package catalog

import (
	corev1 "k8s.io/api/core/v1"
)

// Info is what EC2 publishes about an instance type, before a node class turns
// it into a node: the facts that labels, capacity and the pod limit are
// computed from. Zero means unknown for the bandwidths and not present for the
// device counts.
type Info struct {
	// Name is the EC2 instance type, m5.large.
	Name string
	// Arch is the Kubernetes architecture: amd64 or arm64.
	Arch string

	// Category (m), Family (m5), Generation (5) and Size (large) are the parts
	// of the name that NodePools select on, as EC2 and Karpenter split them.
	Category   string
	Family     string
	Generation string
	Size       string

	// CPUManufacturer is intel, amd or aws.
	CPUManufacturer        string
	SustainedClockSpeedMHz int32
	VCPU                   int32
	MemoryMiB              int64
	// Hypervisor is nitro or xen, and empty on bare metal.
	Hypervisor           string
	NetworkBandwidthMbps int32
	EBSBandwidthMbps     int32
	EncryptionInTransit  bool
	// CapabilityFlex is true for the flex types (c7i-flex, ...), which share
	// their hosts' CPU above a baseline.
	CapabilityFlex bool

	// GPUName is empty for a type without GPUs. A type with a fractional GPU
	// (g6f) has a name and a count of zero.
	GPUName         string
	GPUManufacturer string
	GPUCount        int32
	GPUMemoryMiB    int64

	// AcceleratorName is empty for a type without inference or training
	// accelerators (Inferentia, Trainium, Qualcomm AI 100).
	AcceleratorName         string
	AcceleratorManufacturer string
	AcceleratorCount        int32
	// NeuronDevices and NeuronCores are what the Neuron device plugin
	// advertises: aws.amazon.com/neuron and aws.amazon.com/neuroncore.
	NeuronDevices int32
	NeuronCores   int32
	// EFAs is the number of Elastic Fabric Adapters, vpc.amazonaws.com/efa.
	EFAs int32

	// LocalNVMeGB is the total size of the instance-store NVMe disks, in GB.
	LocalNVMeGB int64

	// ENIs and IPv4PerENI are the network interface limits of the default
	// network card: with the VPC CNI only that card's interfaces give pods
	// their addresses, even on types with several cards.
	ENIs       int32
	IPv4PerENI int32
	// MaxPods is the pod limit EKS AMIs configure for the type when nothing
	// overrides it, ENILimitedPods(ENIs, IPv4PerENI) for every type whose ENI
	// limits are known.
	MaxPods int32

	// EBS is how many EBS volumes the type can attach; see EBSVolumeLimit.
	EBS EBSAttachments
}

// EBSAttachments is EC2's attachment limit of a type, EbsInfo's
// MaximumEbsAttachments and AttachmentLimitType. The zero value means
// unknown, which EBSVolumeLimit reads as the EBS CSI driver's default.
type EBSAttachments struct {
	// MaxAttachments counts every EBS volume, the root volume included.
	MaxAttachments int32
	// Dedicated is true when network interfaces do not take attachment
	// slots from volumes; on a shared limit every ENI past the first does.
	Dedicated bool
}

// ENILimitedPods is how many pods the VPC CNI can give an address to: each
// ENI keeps its first address for itself, and two pods on the host network
// (aws-node and kube-proxy) need none.
func ENILimitedPods(enis, ipv4PerENI int32) int32 {
	return enis*(ipv4PerENI-1) + 2
}

// Zone is an availability zone the catalog may offer types in. Zone names are
// mapped to physical zones per account; the ID names the physical zone, and
// is empty when unknown (offline mode).
type Zone struct {
	Name string `json:"name"`
	ID   string `json:"id,omitempty"`
}

// InstanceType is an EC2 instance type as a node built from one EC2NodeClass
// would be: the labels the node carries, what kubelet reports as capacity and
// allocatable, and where and at what price it can be launched.
//
// Values returned by a Catalog are shared by every caller and must not be
// modified.
type InstanceType struct {
	Name string
	// Info is the facts the type was built from.
	Info *Info
	// Labels are the labels a node of this type carries, apart from the ones
	// that depend on the offering it is launched from (zone, zone id, capacity
	// type).
	Labels map[string]string
	// Capacity is what kubelet will report as the node's capacity.
	Capacity corev1.ResourceList
	// Overhead is what kubelet and the eviction thresholds hold back.
	Overhead Overhead
	// Allocatable is Capacity minus Overhead: what pods may request.
	Allocatable corev1.ResourceList
	// Offerings are the zones and capacity types the type may be launched with.
	Offerings Offerings
}

// Overhead is the part of a node's capacity that pods cannot request.
type Overhead struct {
	KubeReserved      corev1.ResourceList
	SystemReserved    corev1.ResourceList
	EvictionThreshold corev1.ResourceList
}

// Total is the sum of the three reservations.
func (o Overhead) Total() corev1.ResourceList {
	total := corev1.ResourceList{}
	for _, list := range []corev1.ResourceList{o.KubeReserved, o.SystemReserved, o.EvictionThreshold} {
		for name, q := range list {
			sum := total[name]
			sum.Add(q)
			total[name] = sum
		}
	}
	return total
}
