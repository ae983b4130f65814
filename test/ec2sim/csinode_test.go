package ec2sim

import (
	"testing"
)

// TestCSINodeFor checks the EBS CSI driver's registration on a simulated
// node: instance id, zone key, and the attach limit less the launch's extra
// volumes and, on a shared limit, its extra interfaces.
func TestCSINodeFor(t *testing.T) {
	s, err := New(Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		instanceType string
		dataVolumes  int
		efas         int32
		want         int32
	}{
		{name: "shared limit, root volume only", instanceType: "m5.large", want: 26},
		{name: "shared limit, two data volumes", instanceType: "m5.large", dataVolumes: 2, want: 24},
		{name: "shared limit, an EFA interface", instanceType: "c5n.18xlarge", efas: 1, want: 25},
		{name: "dedicated limit ignores the EFA interface", instanceType: "m7i.large", dataVolumes: 1, efas: 1, want: 30},
		{name: "xen", instanceType: "c4.large", want: 38},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst := testInstance(t, s, tt.instanceType, &bootConfig{})
			for i := range tt.dataVolumes {
				inst.BlockDevices = append(inst.BlockDevices, blockDevice{DeviceName: "/dev/xvd" + string(rune('b'+i)), VolumeSizeGiB: 100})
			}
			inst.EFAs = tt.efas
			node := s.nodeForLocked(inst)
			csiNode := csiNodeForLocked(inst, node)
			if csiNode.Name != node.Name || len(csiNode.Spec.Drivers) != 1 {
				t.Fatalf("CSINode %s with %d drivers for node %s", csiNode.Name, len(csiNode.Spec.Drivers), node.Name)
			}
			d := csiNode.Spec.Drivers[0]
			if d.Name != "ebs.csi.aws.com" || d.NodeID != inst.ID || len(d.TopologyKeys) != 1 || d.TopologyKeys[0] != "topology.ebs.csi.aws.com/zone" {
				t.Errorf("driver %+v", d)
			}
			if d.Allocatable == nil || d.Allocatable.Count == nil || *d.Allocatable.Count != tt.want {
				t.Errorf("allocatable %+v, want a count of %d", d.Allocatable, tt.want)
			}
		})
	}
}
