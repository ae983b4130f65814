// Package wellknown holds every label, taint, annotation and finalizer key that
// Tailor reads or writes. They are Karpenter's keys, so a cluster moves between
// the two without relabelling a node or rewriting a NodePool.
package wellknown

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// API groups.
const (
	Group    = "karpenter.sh"
	AWSGroup = "karpenter.k8s.aws"
)

// Labels that Tailor sets on NodeClaims and Nodes.
const (
	NodePoolLabel     = Group + "/nodepool"
	CapacityTypeLabel = Group + "/capacity-type"
	InitializedLabel  = Group + "/initialized"
	RegisteredLabel   = Group + "/registered"

	EC2NodeClassLabel = AWSGroup + "/ec2nodeclass"

	InstanceCategoryLabel            = AWSGroup + "/instance-category"
	InstanceFamilyLabel              = AWSGroup + "/instance-family"
	InstanceGenerationLabel          = AWSGroup + "/instance-generation"
	InstanceSizeLabel                = AWSGroup + "/instance-size"
	InstanceCPULabel                 = AWSGroup + "/instance-cpu"
	InstanceCPUManufacturerLabel     = AWSGroup + "/instance-cpu-manufacturer"
	InstanceCPUSustainedClockLabel   = AWSGroup + "/instance-cpu-sustained-clock-speed-mhz"
	InstanceMemoryLabel              = AWSGroup + "/instance-memory"
	InstanceEBSBandwidthLabel        = AWSGroup + "/instance-ebs-bandwidth"
	InstanceNetworkBandwidthLabel    = AWSGroup + "/instance-network-bandwidth"
	InstanceGPUNameLabel             = AWSGroup + "/instance-gpu-name"
	InstanceGPUManufacturerLabel     = AWSGroup + "/instance-gpu-manufacturer"
	InstanceGPUCountLabel            = AWSGroup + "/instance-gpu-count"
	InstanceGPUMemoryLabel           = AWSGroup + "/instance-gpu-memory"
	InstanceAcceleratorNameLabel     = AWSGroup + "/instance-accelerator-name"
	InstanceAcceleratorManufacturer  = AWSGroup + "/instance-accelerator-manufacturer"
	InstanceAcceleratorCountLabel    = AWSGroup + "/instance-accelerator-count"
	InstanceLocalNVMeLabel           = AWSGroup + "/instance-local-nvme"
	InstanceHypervisorLabel          = AWSGroup + "/instance-hypervisor"
	InstanceEncryptionInTransitLabel = AWSGroup + "/instance-encryption-in-transit-supported"
	InstanceCapacityFlexLabel        = AWSGroup + "/instance-capability-flex"
	InstanceTenancyLabel             = AWSGroup + "/instance-tenancy"
	TopologyZoneIDLabel              = "topology.k8s.aws/zone-id"

	ZoneLabel         = corev1.LabelTopologyZone
	RegionLabel       = corev1.LabelTopologyRegion
	InstanceTypeLabel = corev1.LabelInstanceTypeStable
	ArchLabel         = corev1.LabelArchStable
	OSLabel           = corev1.LabelOSStable
	HostnameLabel     = corev1.LabelHostname
	WindowsBuildLabel = corev1.LabelWindowsBuild
)

// Capacity types, the values of CapacityTypeLabel.
const (
	CapacityTypeOnDemand = "on-demand"
	CapacityTypeSpot     = "spot"
	CapacityTypeReserved = "reserved"
)

// Labels of the nodes launched into a capacity reservation (capacity type
// reserved), Karpenter's keys: the reservation's id, and its type, so that a
// NodePool may take Capacity Blocks for ML and leave ODCRs, or the reverse.
const (
	CapacityReservationIDLabel   = AWSGroup + "/capacity-reservation-id"
	CapacityReservationTypeLabel = AWSGroup + "/capacity-reservation-type"
)

// Capacity reservation types, the values of CapacityReservationTypeLabel and
// of EC2's ReservationType.
const (
	// CapacityReservationTypeDefault is an On-Demand Capacity Reservation.
	CapacityReservationTypeDefault = "default"
	// CapacityReservationTypeCapacityBlock is a Capacity Block for ML: a
	// reservation bought for a fixed window, whose instances EC2 reclaims
	// at its end.
	CapacityReservationTypeCapacityBlock = "capacity-block"
)

// Architectures and operating systems, the values of ArchLabel and OSLabel.
const (
	ArchAMD64 = "amd64"
	ArchARM64 = "arm64"
	OSLinux   = "linux"
	OSWindows = "windows"
)

// Annotations.
const (
	// DoNotDisruptAnnotation on a pod or node keeps voluntary disruption away.
	DoNotDisruptAnnotation = Group + "/do-not-disrupt"
	// NodePoolHashAnnotation records the template hash a claim was made from; drift compares it.
	NodePoolHashAnnotation        = Group + "/nodepool-hash"
	NodePoolHashVersionAnnotation = Group + "/nodepool-hash-version"
	NodeClassHashAnnotation       = AWSGroup + "/ec2nodeclass-hash"
	// NodeClaimTerminationTimestampAnnotation is when the drain stops waiting and deletes pods.
	NodeClaimTerminationTimestampAnnotation = Group + "/nodeclaim-termination-timestamp"
)

// Taint keys.
const (
	DisruptedTaintKey    = Group + "/disrupted"
	UnregisteredTaintKey = Group + "/unregistered"
)

// Taints that Tailor places on nodes.
var (
	// DisruptedNoScheduleTaint keeps new pods off a node that is being taken away.
	DisruptedNoScheduleTaint = corev1.Taint{Key: DisruptedTaintKey, Effect: corev1.TaintEffectNoSchedule}
	// UnregisteredNoExecuteTaint is set by kubelet at join and removed when the launcher links the node to its claim.
	UnregisteredNoExecuteTaint = corev1.Taint{Key: UnregisteredTaintKey, Effect: corev1.TaintEffectNoExecute}
)

// Finalizers.
const (
	TerminationFinalizer = Group + "/termination"
)

// RestrictedLabels may not be set through a NodePool: Tailor or the cloud owns them.
var RestrictedLabels = sets.New(
	NodePoolLabel,
	HostnameLabel,
	EC2NodeClassLabel,
	InitializedLabel,
	RegisteredLabel,
)

// RestrictedLabelDomains may hold only the well-known keys below.
var RestrictedLabelDomains = sets.New(
	"kubernetes.io",
	"k8s.io",
	Group,
	AWSGroup,
)

// LabelDomainExceptions are domains under a restricted one that users may label freely.
var LabelDomainExceptions = sets.New(
	"kops.k8s.io",
	"node.kubernetes.io",
	corev1.LabelNamespaceNodeRestriction,
)

// WellKnownLabels are the keys a NodePool may constrain and a node of a given
// instance type carries. A requirement on any other key in a restricted domain
// is refused.
var WellKnownLabels = sets.New(
	NodePoolLabel,
	CapacityTypeLabel,
	ZoneLabel,
	RegionLabel,
	InstanceTypeLabel,
	ArchLabel,
	OSLabel,
	WindowsBuildLabel,
	TopologyZoneIDLabel,
	CapacityReservationIDLabel,
	CapacityReservationTypeLabel,
	InstanceCategoryLabel,
	InstanceFamilyLabel,
	InstanceGenerationLabel,
	InstanceSizeLabel,
	InstanceCPULabel,
	InstanceCPUManufacturerLabel,
	InstanceCPUSustainedClockLabel,
	InstanceMemoryLabel,
	InstanceEBSBandwidthLabel,
	InstanceNetworkBandwidthLabel,
	InstanceGPUNameLabel,
	InstanceGPUManufacturerLabel,
	InstanceGPUCountLabel,
	InstanceGPUMemoryLabel,
	InstanceAcceleratorNameLabel,
	InstanceAcceleratorManufacturer,
	InstanceAcceleratorCountLabel,
	InstanceLocalNVMeLabel,
	InstanceHypervisorLabel,
	InstanceEncryptionInTransitLabel,
	InstanceCapacityFlexLabel,
	InstanceTenancyLabel,
)

// Extended resources an instance type may advertise.
const (
	ResourceNVIDIAGPU     corev1.ResourceName = "nvidia.com/gpu"
	ResourceAMDGPU        corev1.ResourceName = "amd.com/gpu"
	ResourceAWSNeuron     corev1.ResourceName = "aws.amazon.com/neuron"
	ResourceAWSNeuronCore corev1.ResourceName = "aws.amazon.com/neuroncore"
	ResourceEFA           corev1.ResourceName = "vpc.amazonaws.com/efa"
	ResourcePodENI        corev1.ResourceName = "vpc.amazonaws.com/pod-eni"
	// ResourceNodes counts nodes in a NodePool's status.resources.
	ResourceNodes corev1.ResourceName = "nodes"
)
