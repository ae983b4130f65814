package v1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EC2NodeClassSpec says how a node is built on EC2.
//
// +kubebuilder:validation:XValidation:message="exactly one of role and instanceProfile must be set",rule="has(self.role) != has(self.instanceProfile)"
// +kubebuilder:validation:XValidation:message="amiFamily must be set when no amiSelectorTerm has an alias",rule="self.amiSelectorTerms.exists(t, has(t.alias)) || has(self.amiFamily)"
// +kubebuilder:validation:XValidation:message="amiFamily must match the family of the alias",rule="!has(self.amiFamily) || !self.amiSelectorTerms.exists(t, has(t.alias)) || self.amiFamily == 'Custom' || self.amiSelectorTerms.exists(t, has(t.alias) && t.alias.find('^[^@]+') == self.amiFamily.lowerAscii())"
type EC2NodeClassSpec struct {
	// SubnetSelectorTerms select the subnets instances may be launched in; the
	// terms are ORed, the tags within a term ANDed.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=30
	// +kubebuilder:validation:XValidation:message="each subnetSelectorTerm needs tags or id",rule="self.all(t, has(t.tags) || has(t.id))"
	// +kubebuilder:validation:XValidation:message="id may not be combined with tags in a subnetSelectorTerm",rule="!self.exists(t, has(t.id) && has(t.tags))"
	SubnetSelectorTerms []SubnetSelectorTerm `json:"subnetSelectorTerms"`
	// SecurityGroupSelectorTerms select the security groups of the instances.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=30
	// +kubebuilder:validation:XValidation:message="each securityGroupSelectorTerm needs tags, id or name",rule="self.all(t, has(t.tags) || has(t.id) || has(t.name))"
	// +kubebuilder:validation:XValidation:message="id may not be combined with tags or name in a securityGroupSelectorTerm",rule="!self.exists(t, has(t.id) && (has(t.tags) || has(t.name)))"
	// +kubebuilder:validation:XValidation:message="name may not be combined with tags in a securityGroupSelectorTerm",rule="!self.exists(t, has(t.name) && has(t.tags))"
	SecurityGroupSelectorTerms []SecurityGroupSelectorTerm `json:"securityGroupSelectorTerms"`
	// AssociatePublicIPAddress overrides the subnet's public IP setting.
	// +optional
	AssociatePublicIPAddress *bool `json:"associatePublicIPAddress,omitempty"`
	// AMISelectorTerms select the AMIs: an alias (family@version) alone, or
	// terms by id, name/owner or tags.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=30
	// +kubebuilder:validation:XValidation:message="each amiSelectorTerm needs alias, tags, id or name",rule="self.all(t, has(t.alias) || has(t.tags) || has(t.id) || has(t.name))"
	// +kubebuilder:validation:XValidation:message="alias may not be combined with other fields in an amiSelectorTerm",rule="!self.exists(t, has(t.alias) && (has(t.tags) || has(t.id) || has(t.name) || has(t.owner)))"
	// +kubebuilder:validation:XValidation:message="an amiSelectorTerm with an alias must be the only term",rule="!self.exists(t, has(t.alias)) || size(self) == 1"
	// +kubebuilder:validation:XValidation:message="id may not be combined with tags, name or owner in an amiSelectorTerm",rule="!self.exists(t, has(t.id) && (has(t.tags) || has(t.name) || has(t.owner)))"
	AMISelectorTerms []AMISelectorTerm `json:"amiSelectorTerms"`
	// CapacityReservationSelectorTerms select On-Demand Capacity
	// Reservations the nodes may be launched into, as capacity type
	// "reserved"; the terms are ORed. Only active reservations are used.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=30
	// +kubebuilder:validation:XValidation:message="expected exactly one, either tags or id",rule="self.all(t, has(t.tags) != has(t.id))"
	// +kubebuilder:validation:XValidation:message="'ownerID' is only allowed with 'tags'",rule="self.all(t, !has(t.ownerID) || has(t.tags))"
	CapacityReservationSelectorTerms []CapacityReservationSelectorTerm `json:"capacityReservationSelectorTerms,omitempty"`
	// AMIFamily sets the user data format and default block devices. Implied
	// by an alias; required otherwise.
	// +optional
	// +kubebuilder:validation:Enum=AL2;AL2023;Bottlerocket;Custom;Windows2019;Windows2022;Windows2025
	AMIFamily *string `json:"amiFamily,omitempty"`
	// UserData is merged with what Tailor generates, in the AMI family's format.
	// +optional
	// +kubebuilder:validation:MaxLength=16384
	UserData *string `json:"userData,omitempty"`
	// Role is the IAM role of the instance profile Tailor creates for the nodes.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:message="role may not be empty",rule="self != ''"
	Role string `json:"role,omitempty"`
	// InstanceProfile is an existing instance profile, used as is.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:message="instanceProfile may not be empty",rule="self != ''"
	InstanceProfile *string `json:"instanceProfile,omitempty"`
	// Tags are put on instances, volumes and launch templates.
	// +optional
	// +kubebuilder:validation:MaxProperties=50
	// +kubebuilder:validation:XValidation:message="tag keys may not be empty",rule="self.all(k, k != '')"
	// +kubebuilder:validation:XValidation:message="tag key \"kubernetes.io/cluster/...\" is restricted: Tailor sets it",rule="self.all(k, !k.startsWith('kubernetes.io/cluster'))"
	// +kubebuilder:validation:XValidation:message="tag keys karpenter.sh/nodepool, karpenter.sh/nodeclaim, karpenter.k8s.aws/ec2nodeclass and eks:eks-cluster-name are restricted: Tailor sets them",rule="self.all(k, !(k in ['karpenter.sh/nodepool', 'karpenter.sh/nodeclaim', 'karpenter.k8s.aws/ec2nodeclass', 'eks:eks-cluster-name']))"
	Tags map[string]string `json:"tags,omitempty"`
	// Kubelet settings of the nodes; they also change what pods can use.
	// +optional
	Kubelet *KubeletConfiguration `json:"kubelet,omitempty"`
	// BlockDeviceMappings of the instances; the AMI family's root volume by default.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:XValidation:message="at most one blockDeviceMapping may be the rootVolume",rule="self.filter(m, has(m.rootVolume) && m.rootVolume).size() <= 1"
	BlockDeviceMappings []*BlockDeviceMapping `json:"blockDeviceMappings,omitempty"`
	// InstanceStorePolicy says what to do with local NVMe disks; RAID0 joins
	// them for ephemeral storage.
	// +optional
	// +kubebuilder:validation:Enum=RAID0
	InstanceStorePolicy *InstanceStorePolicy `json:"instanceStorePolicy,omitempty"`
	// DetailedMonitoring turns on one-minute CloudWatch metrics.
	// +optional
	DetailedMonitoring *bool `json:"detailedMonitoring,omitempty"`
	// MetadataOptions of the instance metadata service; IMDSv2 is required by default.
	// +optional
	// +kubebuilder:default={"httpEndpoint":"enabled","httpProtocolIPv6":"disabled","httpPutResponseHopLimit":1,"httpTokens":"required"}
	MetadataOptions *MetadataOptions `json:"metadataOptions,omitempty"`
}

// SubnetSelectorTerm selects subnets by tags or by id.
type SubnetSelectorTerm struct {
	// Tags the subnet must carry; "*" matches any value.
	// +optional
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=20
	// +kubebuilder:validation:XValidation:message="empty tag keys or values aren't supported",rule="self.all(k, k != '' && self[k] != '')"
	Tags map[string]string `json:"tags,omitempty"`
	// ID of the subnet.
	// +optional
	// +kubebuilder:validation:Pattern=`^subnet-[0-9a-z]+$`
	ID string `json:"id,omitempty"`
}

// SecurityGroupSelectorTerm selects security groups by tags, id or name.
type SecurityGroupSelectorTerm struct {
	// +optional
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=20
	// +kubebuilder:validation:XValidation:message="empty tag keys or values aren't supported",rule="self.all(k, k != '' && self[k] != '')"
	Tags map[string]string `json:"tags,omitempty"`
	// +optional
	// +kubebuilder:validation:Pattern=`^sg-[0-9a-z]+$`
	ID string `json:"id,omitempty"`
	// Name is the group name (not the Name tag).
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Name string `json:"name,omitempty"`
}

// AMISelectorTerm selects AMIs by alias, tags, id or name and owner.
type AMISelectorTerm struct {
	// Alias is family@version: al2023, al2 or bottlerocket at "latest" or a
	// pinned version (al2023@v20240807, bottlerocket@v1.20.0); windows2019,
	// windows2022 and windows2025 at "latest" only.
	// +optional
	// +kubebuilder:validation:MaxLength=30
	// +kubebuilder:validation:Pattern=`^[a-z0-9]+@.+$`
	// +kubebuilder:validation:XValidation:message="alias family must be one of al2, al2023, bottlerocket, windows2019, windows2022, windows2025",rule="self.find('^[^@]+') in ['al2', 'al2023', 'bottlerocket', 'windows2019', 'windows2022', 'windows2025']"
	// +kubebuilder:validation:XValidation:message="alias version must be \"latest\" or a version such as v20240807 or v1.20.0",rule="self.matches('^[a-z0-9]+@(latest|v[0-9][0-9.]*(-[0-9A-Za-z.]+)?)$')"
	// +kubebuilder:validation:XValidation:message="windows families may only use version \"latest\"",rule="!self.startsWith('windows') || self.endsWith('@latest')"
	Alias string `json:"alias,omitempty"`
	// +optional
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=20
	// +kubebuilder:validation:XValidation:message="empty tag keys or values aren't supported",rule="self.all(k, k != '' && self[k] != '')"
	Tags map[string]string `json:"tags,omitempty"`
	// +optional
	// +kubebuilder:validation:Pattern=`^ami-[0-9a-z]+$`
	ID string `json:"id,omitempty"`
	// Name of the AMI; wildcards allowed as in EC2's name filter.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name,omitempty"`
	// Owner account id or alias (self, amazon); with name or tags.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Owner string `json:"owner,omitempty"`
}

// CapacityReservationSelectorTerm selects capacity reservations by id, or
// by tags and, optionally, the account that owns them.
type CapacityReservationSelectorTerm struct {
	// Tags the reservation must carry; "*" matches any value.
	// +optional
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=20
	// +kubebuilder:validation:XValidation:message="empty tag keys or values aren't supported",rule="self.all(k, k != '' && self[k] != '')"
	Tags map[string]string `json:"tags,omitempty"`
	// ID of the reservation.
	// +optional
	// +kubebuilder:validation:Pattern=`^cr-[0-9a-z]+$`
	ID string `json:"id,omitempty"`
	// OwnerID is the account that owns the reservation (one shared with this
	// account); with tags only.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9]{12}$`
	OwnerID string `json:"ownerID,omitempty"`
}

// KubeletConfiguration is the part of kubelet's configuration Tailor sets.
//
// +kubebuilder:validation:XValidation:message="imageGCHighThresholdPercent must be greater than imageGCLowThresholdPercent",rule="!has(self.imageGCHighThresholdPercent) || !has(self.imageGCLowThresholdPercent) || self.imageGCHighThresholdPercent > self.imageGCLowThresholdPercent"
// +kubebuilder:validation:XValidation:message="every evictionSoft threshold needs a grace period in evictionSoftGracePeriod",rule="!has(self.evictionSoft) || (has(self.evictionSoftGracePeriod) && self.evictionSoft.all(k, k in self.evictionSoftGracePeriod))"
// +kubebuilder:validation:XValidation:message="every evictionSoftGracePeriod needs a threshold in evictionSoft",rule="!has(self.evictionSoftGracePeriod) || (has(self.evictionSoft) && self.evictionSoftGracePeriod.all(k, k in self.evictionSoft))"
type KubeletConfiguration struct {
	// ClusterDNS are the DNS server addresses of pods.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	ClusterDNS []string `json:"clusterDNS,omitempty"`
	// MaxPods overrides the ENI-derived pod limit.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxPods *int32 `json:"maxPods,omitempty"`
	// PodsPerCore caps pods at this many per vCPU (the lower of this and MaxPods wins).
	// +optional
	// +kubebuilder:validation:Minimum=0
	PodsPerCore *int32 `json:"podsPerCore,omitempty"`
	// SystemReserved is held back for OS daemons.
	// +optional
	// +kubebuilder:validation:MaxProperties=4
	// +kubebuilder:validation:XValidation:message="systemReserved keys must be cpu, memory, ephemeral-storage or pid",rule="self.all(k, k in ['cpu', 'memory', 'ephemeral-storage', 'pid'])"
	// +kubebuilder:validation:XValidation:message="systemReserved values must be non-negative quantities",rule="self.all(k, self[k].matches('^(\\\\+)?(([0-9]+(\\\\.[0-9]*)?)|(\\\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\\\+)?(([0-9]+(\\\\.[0-9]*)?)|(\\\\.[0-9]+))))?$'))"
	SystemReserved map[string]Quantity `json:"systemReserved,omitempty"`
	// KubeReserved is held back for kubelet and the container runtime; EKS's
	// formula of the instance type by default.
	// +optional
	// +kubebuilder:validation:MaxProperties=4
	// +kubebuilder:validation:XValidation:message="kubeReserved keys must be cpu, memory, ephemeral-storage or pid",rule="self.all(k, k in ['cpu', 'memory', 'ephemeral-storage', 'pid'])"
	// +kubebuilder:validation:XValidation:message="kubeReserved values must be non-negative quantities",rule="self.all(k, self[k].matches('^(\\\\+)?(([0-9]+(\\\\.[0-9]*)?)|(\\\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\\\+)?(([0-9]+(\\\\.[0-9]*)?)|(\\\\.[0-9]+))))?$'))"
	KubeReserved map[string]Quantity `json:"kubeReserved,omitempty"`
	// EvictionHard thresholds; memory.available 100Mi and nodefs.available 10% by default.
	// +optional
	// +kubebuilder:validation:MaxProperties=6
	// +kubebuilder:validation:XValidation:message="eviction signals must be memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree or pid.available",rule="self.all(k, k in ['memory.available', 'nodefs.available', 'nodefs.inodesFree', 'imagefs.available', 'imagefs.inodesFree', 'pid.available'])"
	EvictionHard map[string]Threshold `json:"evictionHard,omitempty"`
	// EvictionSoft thresholds, each with a grace period in EvictionSoftGracePeriod.
	// +optional
	// +kubebuilder:validation:MaxProperties=6
	// +kubebuilder:validation:XValidation:message="eviction signals must be memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree or pid.available",rule="self.all(k, k in ['memory.available', 'nodefs.available', 'nodefs.inodesFree', 'imagefs.available', 'imagefs.inodesFree', 'pid.available'])"
	EvictionSoft map[string]Threshold `json:"evictionSoft,omitempty"`
	// EvictionSoftGracePeriod is how long a soft threshold must hold before eviction.
	// +optional
	// +kubebuilder:validation:MaxProperties=6
	// +kubebuilder:validation:XValidation:message="eviction signals must be memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree or pid.available",rule="self.all(k, k in ['memory.available', 'nodefs.available', 'nodefs.inodesFree', 'imagefs.available', 'imagefs.inodesFree', 'pid.available'])"
	EvictionSoftGracePeriod map[string]metav1.Duration `json:"evictionSoftGracePeriod,omitempty"`
	// EvictionMaxPodGracePeriod caps pod grace periods on soft eviction, in seconds.
	// +optional
	EvictionMaxPodGracePeriod *int32 `json:"evictionMaxPodGracePeriod,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	ImageGCHighThresholdPercent *int32 `json:"imageGCHighThresholdPercent,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	ImageGCLowThresholdPercent *int32 `json:"imageGCLowThresholdPercent,omitempty"`
	// CPUCFSQuota enforces CPU limits with CFS quota.
	// +optional
	CPUCFSQuota *bool `json:"cpuCFSQuota,omitempty"`
}

// Quantity is a resource quantity in kubelet's reserved maps ("100m", "1Gi").
// +kubebuilder:validation:MaxLength=64
type Quantity string

// Threshold is an eviction threshold: a quantity ("100Mi") or a percent ("10%").
// +kubebuilder:validation:MaxLength=64
// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?%|[0-9]+(\.[0-9]+)?([KMGTPE]i|[kMGTPE])?)$`
type Threshold string

// MetadataOptions of the instance metadata service.
type MetadataOptions struct {
	// +optional
	// +kubebuilder:default=enabled
	// +kubebuilder:validation:Enum=enabled;disabled
	HTTPEndpoint *string `json:"httpEndpoint,omitempty"`
	// +optional
	// +kubebuilder:default=disabled
	// +kubebuilder:validation:Enum=enabled;disabled
	HTTPProtocolIPv6 *string `json:"httpProtocolIPv6,omitempty"`
	// HTTPPutResponseHopLimit is how many network hops a metadata response may
	// travel; 2 lets pods without host networking reach IMDS.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=64
	HTTPPutResponseHopLimit *int64 `json:"httpPutResponseHopLimit,omitempty"`
	// HTTPTokens "required" enforces IMDSv2.
	// +optional
	// +kubebuilder:default=required
	// +kubebuilder:validation:Enum=required;optional
	HTTPTokens *string `json:"httpTokens,omitempty"`
}

// BlockDeviceMapping attaches an EBS volume at a device name.
type BlockDeviceMapping struct {
	// +optional
	// +kubebuilder:validation:MaxLength=64
	DeviceName *string `json:"deviceName,omitempty"`
	// +optional
	EBS *BlockDevice `json:"ebs,omitempty"`
	// RootVolume marks the volume kubelet's ephemeral storage lives on.
	// +optional
	RootVolume bool `json:"rootVolume,omitempty"`
}

// BlockDevice is an EBS volume.
//
// +kubebuilder:validation:XValidation:message="snapshotID or volumeSize must be set",rule="has(self.snapshotID) || has(self.volumeSize)"
// +kubebuilder:validation:XValidation:message="volumeSize needs a unit, such as 100Gi",rule="!has(self.volumeSize) || type(self.volumeSize) == string"
type BlockDevice struct {
	// +optional
	DeleteOnTermination *bool `json:"deleteOnTermination,omitempty"`
	// +optional
	Encrypted *bool `json:"encrypted,omitempty"`
	// IOPS of io1, io2 and gp3 volumes.
	// +optional
	// +kubebuilder:validation:Minimum=100
	// +kubebuilder:validation:Maximum=256000
	IOPS *int64 `json:"iops,omitempty"`
	// +optional
	KMSKeyID *string `json:"kmsKeyID,omitempty"`
	// +optional
	// +kubebuilder:validation:Pattern=`^snap-[0-9a-z]+$`
	SnapshotID *string `json:"snapshotID,omitempty"`
	// Throughput of gp3 volumes in MiB/s.
	// +optional
	// +kubebuilder:validation:Minimum=125
	// +kubebuilder:validation:Maximum=2000
	Throughput *int64 `json:"throughput,omitempty"`
	// VolumeSize as a quantity with a unit (100Gi, 1Ti), 1Gi to 64Ti.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([1-9][0-9]{0,4}Gi?|[1-9][0-9]?Ti?|6[0-4]Ti?)$`
	VolumeSize *resource.Quantity `json:"volumeSize,omitempty"`
	// +optional
	// +kubebuilder:validation:Enum=standard;io1;io2;gp2;sc1;st1;gp3
	VolumeType *string `json:"volumeType,omitempty"`
}

// InstanceStorePolicy says how local NVMe disks are used.
type InstanceStorePolicy string

// InstanceStorePolicyRAID0 joins the instance-store disks into one for ephemeral storage.
const InstanceStorePolicyRAID0 InstanceStorePolicy = "RAID0"

// EC2NodeClassStatus is what the class resolved to.
type EC2NodeClassStatus struct {
	// +optional
	// +listType=atomic
	Subnets []Subnet `json:"subnets,omitempty"`
	// +optional
	// +listType=atomic
	SecurityGroups []SecurityGroup `json:"securityGroups,omitempty"`
	// +optional
	// +listType=atomic
	AMIs []AMI `json:"amis,omitempty"`
	// CapacityReservations are the active reservations the
	// capacityReservationSelectorTerms select.
	// +optional
	// +listType=atomic
	CapacityReservations []CapacityReservation `json:"capacityReservations,omitempty"`
	// InstanceProfile the nodes are launched with.
	// +optional
	InstanceProfile string `json:"instanceProfile,omitempty"`
	// Conditions: Ready, SubnetsReady, SecurityGroupsReady, AMIsReady, InstanceProfileReady.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Subnet is a resolved subnet.
type Subnet struct {
	// +required
	ID string `json:"id"`
	// +required
	Zone string `json:"zone"`
	// +optional
	ZoneID string `json:"zoneID,omitempty"`
}

// SecurityGroup is a resolved security group.
type SecurityGroup struct {
	// +required
	ID string `json:"id"`
	// +optional
	Name string `json:"name,omitempty"`
}

// AMI is a resolved image and the node labels it is good for (architecture, ...).
type AMI struct {
	// +required
	ID string `json:"id"`
	// +optional
	Name string `json:"name,omitempty"`
	// +required
	// +listType=atomic
	Requirements []corev1.NodeSelectorRequirement `json:"requirements"`
	// +optional
	Deprecated bool `json:"deprecated,omitempty"`
}

// CapacityReservation is a resolved On-Demand Capacity Reservation.
type CapacityReservation struct {
	// +required
	// +kubebuilder:validation:Pattern=`^cr-[0-9a-z]+$`
	ID string `json:"id"`
	// +required
	InstanceType string `json:"instanceType"`
	// +required
	AvailabilityZone string `json:"availabilityZone"`
	// OwnerID is the account that owns the reservation.
	// +required
	// +kubebuilder:validation:Pattern=`^[0-9]{12}$`
	OwnerID string `json:"ownerID"`
	// InstanceMatchCriteria is "open" (any matching instance uses it) or
	// "targeted" (only launches that name it).
	// +optional
	// +kubebuilder:validation:Enum=open;targeted
	InstanceMatchCriteria string `json:"instanceMatchCriteria,omitempty"`
	// EndTime is when the reservation ends; none for an unlimited one.
	// +optional
	EndTime *metav1.Time `json:"endTime,omitempty"`
	// ReservationType is "default" (an ODCR) or "capacity-block".
	// +optional
	// +kubebuilder:default=default
	// +kubebuilder:validation:Enum=default;capacity-block
	ReservationType string `json:"reservationType,omitempty"`
	// State of the reservation: "active", or "expiring" for a Capacity
	// Block within CapacityBlockExpiryLead of its end, which takes no more
	// launches and whose nodes are replaced.
	// +optional
	// +kubebuilder:validation:Enum=active;expiring
	State string `json:"state,omitempty"`
}

// EC2NodeClass says how nodes are built on EC2.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=ec2nodeclasses,scope=Cluster,categories=karpenter,shortName={ec2nc,ec2ncs}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.spec.role`,priority=1
type EC2NodeClass struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   EC2NodeClassSpec   `json:"spec,omitempty"`
	Status EC2NodeClassStatus `json:"status,omitempty"`
}

// EC2NodeClassList is a list of EC2NodeClasses.
//
// +kubebuilder:object:root=true
type EC2NodeClassList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []EC2NodeClass `json:"items"`
}

func init() {
	SchemeBuilder.Register(&EC2NodeClass{}, &EC2NodeClassList{})
}
