package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// testdata/karpenter-types.json is types 0, 3, 4 and 399 of the file
// Karpenter's side writes (go run ./hack/bench/karpenter -types-out),
// cut down to keep the repository small: the first type, the largest
// "small" one, the first "large" one and the last.
const typesFixture = "testdata/karpenter-types.json"

// The loader must lose nothing: Tailor's types written back in the file's
// form are the file, byte for byte, so both sides solve with the same
// capacity, overhead, allocatable, labels, offerings and prices.
func TestTypesFileRoundTrip(t *testing.T) {
	want, err := os.ReadFile(typesFixture)
	if err != nil {
		t.Fatal(err)
	}
	f, err := readTypesFile(typesFixture)
	if err != nil {
		t.Fatal(err)
	}
	reqs := map[string][]corev1.NodeSelectorRequirement{}
	for _, it := range f.Types {
		reqs[it.Name] = it.Requirements
	}
	back := describeCatalogTypes(f.Source, f.catalogTypes(), reqs)
	got, err := json.MarshalIndent(back, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if got = append(got, '\n'); !bytes.Equal(got, want) {
		t.Errorf("the types written back differ from %s:\n%s", typesFixture, got)
	}
}

// Tailor's types are Karpenter's fake.InstanceTypes as its source
// defines them: type i has i+1 vCPU, 2(i+1) GiB and 10(i+1) pods, less
// 100m and 10Mi kube-reserved, at $0.1 per vCPU and $0.1 per 1e9 bytes,
// spot in two zones and on-demand in three.
func TestTypesAreKarpenters(t *testing.T) {
	f, err := readTypesFile(typesFixture)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range f.catalogTypes() {
		var i int64
		if _, err := fmt.Sscanf(it.Name, "fake-it-%d", &i); err != nil {
			t.Fatalf("type %q: %v", it.Name, err)
		}
		n := i + 1
		wantCapacity := corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewQuantity(n, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(2*n<<30, resource.BinarySI),
			corev1.ResourcePods:   *resource.NewQuantity(10*n, resource.DecimalSI),
		}
		wantAllocatable := corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(1000*n-100, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(2*n<<30-10<<20, resource.BinarySI),
			corev1.ResourcePods:   *resource.NewQuantity(10*n, resource.DecimalSI),
		}
		sameList(t, it.Name+" capacity", it.Capacity, wantCapacity)
		sameList(t, it.Name+" allocatable", it.Allocatable, wantAllocatable)
		if it.Labels["node.kubernetes.io/instance-type"] != it.Name || it.Labels["kubernetes.io/arch"] != "amd64" {
			t.Errorf("%s: labels %v", it.Name, it.Labels)
		}
		price := 0.1*float64(n) + 0.1*float64(2*n<<30)/1e9
		var got []string
		for _, o := range it.Offerings {
			if math.Abs(o.Price-price) > 1e-9*price || !o.Available || !o.PriceKnown {
				t.Errorf("%s: offering %+v, want price %v, available", it.Name, o, price)
			}
			got = append(got, o.CapacityType+"/"+o.Zone)
		}
		want := []string{"spot/test-zone-1", "spot/test-zone-2", "on-demand/test-zone-1", "on-demand/test-zone-2", "on-demand/test-zone-3"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: offerings %v, want %v", it.Name, got, want)
		}
	}
}

func sameList(t *testing.T, what string, got, want corev1.ResourceList) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %v, want %v", what, got, want)
	}
	for name, q := range want {
		if g, ok := got[name]; !ok || g.Cmp(q) != 0 {
			t.Errorf("%s: %s is %v, want %v", what, name, got[name], q.String())
		}
	}
}
