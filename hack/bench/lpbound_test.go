package main

import (
	"math"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/tailor-project/tailor/launcher/catalog"
)

// The bound is max(Σcpu, Σmemory/2GiB, Σpods/10) units at the cheapest
// price of a unit; each case is bound by a different term.
func TestLPBound(t *testing.T) {
	f, err := readTypesFile(typesFixture)
	if err != nil {
		t.Fatal(err)
	}
	types := f.catalogTypes()
	// $0.1 a vCPU plus $0.1 per 1e9 bytes of 2 GiB.
	const unitPrice = 0.1 + 0.1*float64(2<<30)/1e9
	pods := func(n int, cpu, memory string) []*corev1.Pod {
		var out []*corev1.Pod
		for range n {
			out = append(out, &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory),
			}}}}}})
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		pods  []*corev1.Pod
		units float64
	}{
		{"cpu", pods(3, "1500m", "100Mi"), 4.5},
		{"memory", pods(2, "100m", "4Gi"), 4},
		{"pods", pods(50, "1m", "1Mi"), 5},
	} {
		b, err := boundFor(tc.pods, types)
		if err != nil {
			t.Fatal(err)
		}
		if b.Units != tc.units || math.Abs(b.UnitPrice-unitPrice) > 1e-12 || math.Abs(b.Price()-tc.units*unitPrice) > 1e-9 {
			t.Errorf("%s: %+v, want %v units at %v", tc.name, b, tc.units, unitPrice)
		}
		if b.Note != "every capacity type costs the same" {
			t.Errorf("%s: note %q", tc.name, b.Note)
		}
	}
}

// A type that is not a whole number of units would make the bound false.
func TestLPBoundRefusesOtherTypes(t *testing.T) {
	odd := &catalog.InstanceType{Name: "odd", Capacity: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("20"),
	}}
	if _, err := unitPrices([]*catalog.InstanceType{odd}); err == nil {
		t.Error("a type with 4 GiB per vCPU was accepted")
	}
}
