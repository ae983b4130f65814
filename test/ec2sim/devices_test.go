package ec2sim

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestCheckInterfaces: EC2 refuses EFA interfaces on a type without
// adapters, more of them than the type has, and two interfaces in one slot.
func TestCheckInterfaces(t *testing.T) {
	s, err := New(Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	efa := func(card, device int64) networkInterfaceSpec {
		return networkInterfaceSpec{NetworkCardIndex: card, DeviceIndex: device, InterfaceType: "efa"}
	}
	for _, tc := range []struct {
		name, instanceType string
		nis                []networkInterfaceSpec
		want               string
	}{
		{"one per card", "p4d.24xlarge", []networkInterfaceSpec{efa(0, 0), efa(1, 1), efa(2, 1), efa(3, 1)}, ""},
		{"no adapters", "m5.large", []networkInterfaceSpec{efa(0, 0)}, "does not support Elastic Fabric Adapter"},
		{"too many", "p4d.24xlarge", []networkInterfaceSpec{efa(0, 0), efa(1, 1), efa(2, 1), efa(3, 1), efa(4, 1)}, "maximum of 4"},
		{"one slot twice", "p4d.24xlarge", []networkInterfaceSpec{efa(0, 0), efa(0, 0)}, "unique device index"},
	} {
		err := checkInterfaces(tc.nis, s.world.types[tc.instanceType])
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestDevicesNeedDrivers: a GPU or Inferentia type advertises its devices
// only when it boots an image with their driver; its EFAs only when the
// launch attached them.
func TestDevicesNeedDrivers(t *testing.T) {
	s, err := New(Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	param := func(variant string) string {
		return "/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/" + variant + "/recommended/image_id"
	}
	for _, tc := range []struct {
		instanceType, variant string
		resource              string
		want                  int64
	}{
		{"g5.xlarge", "standard", "nvidia.com/gpu", 0},
		{"g5.xlarge", "nvidia", "nvidia.com/gpu", 1},
		{"inf2.xlarge", "standard", "aws.amazon.com/neuron", 0},
		{"inf2.xlarge", "neuron", "aws.amazon.com/neuron", 1},
		{"p4d.24xlarge", "nvidia", "vpc.amazonaws.com/efa", 0},
	} {
		inst := testInstance(t, s, tc.instanceType, &bootConfig{})
		inst.Image = s.world.image(s.world.ssmParameters[param(tc.variant)])
		capacity, _ := s.nodeResources(inst)
		q := capacity[corev1.ResourceName(tc.resource)]
		if q.Value() != tc.want {
			t.Errorf("%s on the %s image: %s = %s, want %d", tc.instanceType, tc.variant, tc.resource, q.String(), tc.want)
		}
	}
}
