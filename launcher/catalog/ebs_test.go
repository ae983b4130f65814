package catalog

import (
	"testing"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
)

func TestEBSVolumeLimit(t *testing.T) {
	tests := []struct {
		name              string
		info              Info
		extraBlockDevices int
		enis              int
		want              int64
	}{
		{name: "shared m5.large, root volume only", info: Info{Name: "m5.large", Hypervisor: "nitro", EBS: EBSAttachments{MaxAttachments: 27}}, enis: 1, want: 26},
		{name: "shared, a data volume and two ENIs", info: Info{Name: "m5.large", Hypervisor: "nitro", EBS: EBSAttachments{MaxAttachments: 27}}, extraBlockDevices: 1, enis: 2, want: 24},
		{name: "dedicated m7i.large ignores ENIs", info: Info{Name: "m7i.large", Hypervisor: "nitro", EBS: EBSAttachments{MaxAttachments: 32, Dedicated: true}}, extraBlockDevices: 1, enis: 3, want: 30},
		{name: "xen is 39 dedicated whatever the facts say", info: Info{Name: "c4.large", Hypervisor: "xen", EBS: EBSAttachments{MaxAttachments: 27}}, enis: 4, want: 38},
		{name: "unknown type is 27 shared", info: Info{Name: "x9z.large", Hypervisor: "nitro"}, enis: 2, want: 25},
		{name: "never below 1", info: Info{Name: "m5.large", Hypervisor: "nitro", EBS: EBSAttachments{MaxAttachments: 27}}, extraBlockDevices: 20, enis: 9, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EBSVolumeLimit(&tt.info, tt.extraBlockDevices, tt.enis); got != tt.want {
				t.Errorf("EBSVolumeLimit(%s, %d, %d) = %d, want %d", tt.info.Name, tt.extraBlockDevices, tt.enis, got, tt.want)
			}
		})
	}
}

func TestExtraBlockDevices(t *testing.T) {
	device := func(name string) *ec2v1.BlockDeviceMapping { return &ec2v1.BlockDeviceMapping{DeviceName: &name} }
	class := func(alias string, mappings ...*ec2v1.BlockDeviceMapping) *ec2v1.EC2NodeClass {
		return &ec2v1.EC2NodeClass{Spec: ec2v1.EC2NodeClassSpec{
			AMISelectorTerms:    []ec2v1.AMISelectorTerm{{Alias: alias}},
			BlockDeviceMappings: mappings,
		}}
	}
	tests := []struct {
		name string
		nc   *ec2v1.EC2NodeClass
		want int
	}{
		{name: "no class", want: 0},
		{name: "AL2023 defaults", nc: class("al2023@latest"), want: 0},
		{name: "Bottlerocket defaults have a data volume", nc: class("bottlerocket@latest"), want: 1},
		{name: "root volume only", nc: class("al2023@latest", device("/dev/xvda")), want: 0},
		{name: "root and two data volumes", nc: class("bottlerocket@latest", device("/dev/xvda"), device("/dev/xvdb"), device("/dev/xvdc")), want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExtraBlockDevices(tt.nc); got != tt.want {
				t.Errorf("ExtraBlockDevices = %d, want %d", got, tt.want)
			}
		})
	}
}
