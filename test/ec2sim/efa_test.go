package ec2sim

import (
	"strings"
	"testing"
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
