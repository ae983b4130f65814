package catalog

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
)

// nodeClass returns a class with the given spec, on AL2023 unless the spec
// names a family.
func nodeClass(name string, spec ec2v1.EC2NodeClassSpec) *ec2v1.EC2NodeClass {
	if spec.AMIFamily == nil && len(spec.AMISelectorTerms) == 0 {
		spec.AMISelectorTerms = []ec2v1.AMISelectorTerm{{Alias: "al2023@latest"}}
	}
	return &ec2v1.EC2NodeClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
}

func volume(device string, size string) *ec2v1.BlockDeviceMapping {
	q := resource.MustParse(size)
	return &ec2v1.BlockDeviceMapping{DeviceName: ptr.To(device), EBS: &ec2v1.BlockDevice{VolumeSize: &q}}
}

func TestEphemeralStorage(t *testing.T) {
	raid0 := ec2v1.InstanceStorePolicyRAID0
	tests := []struct {
		name         string
		class        *ec2v1.EC2NodeClass
		instanceType string
		want         string
	}{{
		name:         "no class: AL2023 default root volume",
		instanceType: "m5.large",
		want:         "20Gi",
	}, {
		name:         "AL2023 root device mapped",
		class:        nodeClass("c", ec2v1.EC2NodeClassSpec{BlockDeviceMappings: []*ec2v1.BlockDeviceMapping{volume("/dev/xvda", "100Gi")}}),
		instanceType: "m5.large",
		want:         "100Gi",
	}, {
		name: "rootVolume wins over the family's device",
		class: nodeClass("c", ec2v1.EC2NodeClassSpec{BlockDeviceMappings: []*ec2v1.BlockDeviceMapping{
			volume("/dev/xvda", "30Gi"),
			func() *ec2v1.BlockDeviceMapping { m := volume("/dev/xvdc", "200Gi"); m.RootVolume = true; return m }(),
		}}),
		instanceType: "m5.large",
		want:         "200Gi",
	}, {
		name:         "AL2 without the root device mapped keeps the default",
		class:        nodeClass("c", ec2v1.EC2NodeClassSpec{AMIFamily: ptr.To(AMIFamilyAL2), BlockDeviceMappings: []*ec2v1.BlockDeviceMapping{volume("/dev/xvdb", "500Gi")}}),
		instanceType: "m5.large",
		want:         "20Gi",
	}, {
		name: "Bottlerocket uses its data volume",
		class: nodeClass("c", ec2v1.EC2NodeClassSpec{
			AMISelectorTerms:    []ec2v1.AMISelectorTerm{{Alias: "bottlerocket@latest"}},
			BlockDeviceMappings: []*ec2v1.BlockDeviceMapping{volume("/dev/xvda", "4Gi"), volume("/dev/xvdb", "80Gi")},
		}),
		instanceType: "m5.large",
		want:         "80Gi",
	}, {
		name:         "Bottlerocket default data volume",
		class:        nodeClass("c", ec2v1.EC2NodeClassSpec{AMISelectorTerms: []ec2v1.AMISelectorTerm{{Alias: "bottlerocket@latest"}}}),
		instanceType: "m5.large",
		want:         "20Gi",
	}, {
		name:         "Windows default",
		class:        nodeClass("c", ec2v1.EC2NodeClassSpec{AMIFamily: ptr.To(AMIFamilyWindows2022)}),
		instanceType: "m5.large",
		want:         "50Gi",
	}, {
		name: "Windows root device mapped",
		class: nodeClass("c", ec2v1.EC2NodeClassSpec{
			AMISelectorTerms:    []ec2v1.AMISelectorTerm{{Alias: "windows2019@latest"}},
			BlockDeviceMappings: []*ec2v1.BlockDeviceMapping{volume("/dev/sda1", "120Gi")},
		}),
		instanceType: "m5.large",
		want:         "120Gi",
	}, {
		name: "Custom maps no known device",
		class: nodeClass("c", ec2v1.EC2NodeClassSpec{
			AMIFamily:           ptr.To(AMIFamilyCustom),
			AMISelectorTerms:    []ec2v1.AMISelectorTerm{{ID: "ami-0123"}},
			BlockDeviceMappings: []*ec2v1.BlockDeviceMapping{volume("/dev/xvda", "100Gi")},
		}),
		instanceType: "m5.large",
		want:         "20Gi",
	}, {
		name: "a snapshot-sized volume keeps the default",
		class: nodeClass("c", ec2v1.EC2NodeClassSpec{BlockDeviceMappings: []*ec2v1.BlockDeviceMapping{
			{DeviceName: ptr.To("/dev/xvda"), EBS: &ec2v1.BlockDevice{SnapshotID: ptr.To("snap-0123")}},
		}}),
		instanceType: "m5.large",
		want:         "20Gi",
	}, {
		name:         "RAID0 on a type with NVMe uses the disks",
		class:        nodeClass("c", ec2v1.EC2NodeClassSpec{InstanceStorePolicy: &raid0}),
		instanceType: "m6id.large",
		want:         "118G",
	}, {
		name:         "RAID0 on a type without NVMe keeps the root volume",
		class:        nodeClass("c", ec2v1.EC2NodeClassSpec{InstanceStorePolicy: &raid0}),
		instanceType: "m5.large",
		want:         "20Gi",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings, err := settingsFor(tt.class)
			if err != nil {
				t.Fatal(err)
			}
			got := ephemeralStorage(staticInfo(t, tt.instanceType), settings)
			if got.Cmp(resource.MustParse(tt.want)) != 0 {
				t.Errorf("ephemeral storage = %s, want %s", got.String(), tt.want)
			}
		})
	}
}

func TestSettingsForRejectsMalformedClasses(t *testing.T) {
	tests := []struct {
		name  string
		class *ec2v1.EC2NodeClass
	}{{
		name:  "unknown family",
		class: nodeClass("c", ec2v1.EC2NodeClassSpec{AMIFamily: ptr.To("Ubuntu")}),
	}, {
		name:  "unknown alias",
		class: nodeClass("c", ec2v1.EC2NodeClassSpec{AMISelectorTerms: []ec2v1.AMISelectorTerm{{Alias: "ubuntu@latest"}}}),
	}, {
		name:  "no family and no alias",
		class: nodeClass("c", ec2v1.EC2NodeClassSpec{AMISelectorTerms: []ec2v1.AMISelectorTerm{{ID: "ami-0123"}}}),
	}, {
		name:  "bad reserved quantity",
		class: nodeClass("c", ec2v1.EC2NodeClassSpec{Kubelet: &ec2v1.KubeletConfiguration{SystemReserved: map[string]ec2v1.Quantity{"memory": "lots"}}}),
	}, {
		name:  "negative reserved quantity",
		class: nodeClass("c", ec2v1.EC2NodeClassSpec{Kubelet: &ec2v1.KubeletConfiguration{KubeReserved: map[string]ec2v1.Quantity{"cpu": "-1"}}}),
	}, {
		name:  "bad percentage",
		class: nodeClass("c", ec2v1.EC2NodeClassSpec{Kubelet: &ec2v1.KubeletConfiguration{EvictionHard: map[string]ec2v1.Threshold{"memory.available": "150%"}}}),
	}, {
		name:  "bad threshold quantity",
		class: nodeClass("c", ec2v1.EC2NodeClassSpec{Kubelet: &ec2v1.KubeletConfiguration{EvictionSoft: map[string]ec2v1.Threshold{"nodefs.available": "a lot"}}}),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := settingsFor(tt.class); err == nil {
				t.Error("settingsFor succeeded, want an error")
			}
		})
	}
}
