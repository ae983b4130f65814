package hash

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
)

// EC2NodeClassVersion is the version of EC2NodeClass's hash, recorded beside
// it in the karpenter.k8s.aws/ec2nodeclass-hash-version annotation. Bump it
// when the set of hashed fields or their canonical form changes.
const EC2NodeClassVersion = "v1"

// nodeClassForm is the canonical form of a class's static fields.
type nodeClassForm struct {
	AMIFamily                string                 `json:"amiFamily,omitempty"`
	UserData                 string                 `json:"userData,omitempty"`
	Role                     string                 `json:"role,omitempty"`
	InstanceProfile          string                 `json:"instanceProfile,omitempty"`
	Tags                     map[string]string      `json:"tags,omitempty"`
	Kubelet                  json.RawMessage        `json:"kubelet,omitempty"`
	BlockDeviceMappings      []blockDeviceForm      `json:"blockDeviceMappings,omitempty"`
	InstanceStorePolicy      string                 `json:"instanceStorePolicy,omitempty"`
	DetailedMonitoring       bool                   `json:"detailedMonitoring,omitempty"`
	AssociatePublicIPAddress *bool                  `json:"associatePublicIPAddress,omitempty"`
	MetadataOptions          *ec2v1.MetadataOptions `json:"metadataOptions,omitempty"`
}

type blockDeviceForm struct {
	DeviceName string   `json:"deviceName,omitempty"`
	RootVolume bool     `json:"rootVolume,omitempty"`
	EBS        *ebsForm `json:"ebs,omitempty"`
}

type ebsForm struct {
	DeleteOnTermination *bool  `json:"deleteOnTermination,omitempty"`
	Encrypted           *bool  `json:"encrypted,omitempty"`
	IOPS                *int64 `json:"iops,omitempty"`
	KMSKeyID            string `json:"kmsKeyID,omitempty"`
	SnapshotID          string `json:"snapshotID,omitempty"`
	Throughput          *int64 `json:"throughput,omitempty"`
	VolumeSize          string `json:"volumeSize,omitempty"`
	VolumeType          string `json:"volumeType,omitempty"`
}

// EC2NodeClass returns the hash of the static fields of nc's spec: the AMI
// family (as resolved: amiFamily, else the alias's family), user data,
// role or instance profile, tags, kubelet, block device mappings, instance
// store policy, detailed monitoring, public IP association and metadata
// options. Selector terms are not hashed: a node drifts from them when what
// they resolve to (the class's status) no longer includes its subnet,
// security groups or image.
func EC2NodeClass(nc *ec2v1.EC2NodeClass) string {
	spec := &nc.Spec
	form := nodeClassForm{
		AMIFamily:                amiFamily(spec),
		UserData:                 deref(spec.UserData),
		Role:                     spec.Role,
		InstanceProfile:          deref(spec.InstanceProfile),
		Tags:                     nonEmpty(spec.Tags),
		Kubelet:                  kubelet(spec.Kubelet),
		BlockDeviceMappings:      blockDevices(spec.BlockDeviceMappings),
		DetailedMonitoring:       spec.DetailedMonitoring != nil && *spec.DetailedMonitoring,
		AssociatePublicIPAddress: spec.AssociatePublicIPAddress,
		MetadataOptions:          spec.MetadataOptions,
	}
	if spec.InstanceStorePolicy != nil {
		form.InstanceStorePolicy = string(*spec.InstanceStorePolicy)
	}
	return sum(form)
}

// aliasFamilies maps the family part of an AMI alias to the AMI family it
// implies.
var aliasFamilies = map[string]string{
	"al2":          ec2v1.AMIFamilyAL2,
	"al2023":       ec2v1.AMIFamilyAL2023,
	"bottlerocket": ec2v1.AMIFamilyBottlerocket,
	"windows2019":  ec2v1.AMIFamilyWindows2019,
	"windows2022":  ec2v1.AMIFamilyWindows2022,
	"windows2025":  ec2v1.AMIFamilyWindows2025,
}

// amiFamily is the family the class's nodes boot with, so that writing
// down the family an alias implies changes nothing.
func amiFamily(spec *ec2v1.EC2NodeClassSpec) string {
	if spec.AMIFamily != nil {
		return *spec.AMIFamily
	}
	for _, term := range spec.AMISelectorTerms {
		if name, _, ok := strings.Cut(term.Alias, "@"); ok {
			return aliasFamilies[name]
		}
	}
	return ""
}

// kubelet is the kubelet configuration's JSON, nil when it sets nothing.
func kubelet(k *ec2v1.KubeletConfiguration) json.RawMessage {
	if k == nil {
		return nil
	}
	raw, err := json.Marshal(k)
	if err != nil || bytes.Equal(raw, []byte("{}")) {
		return nil
	}
	return raw
}

// blockDevices is the set of mappings, ordered by device name.
func blockDevices(in []*ec2v1.BlockDeviceMapping) []blockDeviceForm {
	var out []blockDeviceForm
	for _, m := range in {
		if m == nil {
			continue
		}
		f := blockDeviceForm{DeviceName: deref(m.DeviceName), RootVolume: m.RootVolume}
		if e := m.EBS; e != nil {
			f.EBS = &ebsForm{
				DeleteOnTermination: e.DeleteOnTermination,
				Encrypted:           e.Encrypted,
				IOPS:                e.IOPS,
				KMSKeyID:            deref(e.KMSKeyID),
				SnapshotID:          deref(e.SnapshotID),
				Throughput:          e.Throughput,
				VolumeType:          deref(e.VolumeType),
			}
			if e.VolumeSize != nil {
				f.EBS.VolumeSize = e.VolumeSize.String()
			}
		}
		out = append(out, f)
	}
	slices.SortStableFunc(out, func(a, b blockDeviceForm) int { return cmp.Compare(a.DeviceName, b.DeviceName) })
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
