package main

import (
	"fmt"
	"math"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/tailor-project/tailor/launcher/catalog"
)

// unit is the slice every one of Karpenter's fake types is a whole number
// of: type i is i+1 units of 1 vCPU, 2 GiB and 10 pods.
var unit = struct {
	cpuMilli, memory, pods int64
}{1000, 2 << 30, 10}

// lpBound is the linear-programming lower bound of a plan's price for
// types proportional to unit: with capacity bought in fractions of a unit
// at the cheapest price per unit, the pods need max(Σcpu, Σmemory/2GiB,
// Σpods/10) units. Capacity, not allocatable, is counted, so the bound
// stays below any plan whatever the overhead.
type lpBound struct {
	// Units is how many units the pods need.
	Units float64
	// UnitPrice is the cheapest price of a unit, of CapacityType.
	UnitPrice    float64
	CapacityType string
	// Note names the cheapest capacity type, or says the types tie.
	Note string
}

// Price is the bound in $/h.
func (b lpBound) Price() float64 { return b.Units * b.UnitPrice }

// unitPrices is, by capacity type, the lowest price per unit of an
// available offering. It fails on a type that is not a whole number of
// units, for which the bound would not hold.
func unitPrices(types []*catalog.InstanceType) (map[string]float64, error) {
	prices := map[string]float64{}
	for _, it := range types {
		cpu, mem, pods := it.Capacity[corev1.ResourceCPU], it.Capacity[corev1.ResourceMemory], it.Capacity[corev1.ResourcePods]
		if cpu.MilliValue()%unit.cpuMilli != 0 {
			return nil, fmt.Errorf("type %s: %s vCPU is not a whole number of units", it.Name, cpu.String())
		}
		n := cpu.MilliValue() / unit.cpuMilli
		if n == 0 || mem.Value() != n*unit.memory || pods.Value() != n*unit.pods {
			return nil, fmt.Errorf("type %s (%s vCPU, %s, %s pods) is not proportional to 1 vCPU, 2Gi, 10 pods", it.Name, cpu.String(), mem.String(), pods.String())
		}
		for _, o := range it.Offerings {
			if !o.Available {
				continue
			}
			p := o.Price / float64(n)
			if old, ok := prices[o.CapacityType]; !ok || p < old {
				prices[o.CapacityType] = p
			}
		}
	}
	if len(prices) == 0 {
		return nil, fmt.Errorf("no available offering")
	}
	return prices, nil
}

// boundFor is the bound for pods on types.
func boundFor(pods []*corev1.Pod, types []*catalog.InstanceType) (lpBound, error) {
	prices, err := unitPrices(types)
	if err != nil {
		return lpBound{}, err
	}
	cts := make([]string, 0, len(prices))
	for ct := range prices {
		cts = append(cts, ct)
	}
	sort.Strings(cts)
	b := lpBound{UnitPrice: math.Inf(1)}
	for _, ct := range cts {
		if prices[ct] < b.UnitPrice {
			b.UnitPrice, b.CapacityType = prices[ct], ct
		}
	}
	b.Note = b.CapacityType + " is cheapest"
	if len(cts) > 1 && allEqual(prices) {
		b.Note = "every capacity type costs the same"
	}
	var cpuMilli, memory int64
	for _, p := range pods {
		for _, c := range p.Spec.Containers {
			cpuMilli += quantityOf(c.Resources.Requests, corev1.ResourceCPU).MilliValue()
			memory += quantityOf(c.Resources.Requests, corev1.ResourceMemory).Value()
		}
	}
	b.Units = max(float64(cpuMilli)/float64(unit.cpuMilli), float64(memory)/float64(unit.memory), float64(len(pods))/float64(unit.pods))
	return b, nil
}

func allEqual(m map[string]float64) bool {
	first, set := 0.0, false
	for _, v := range m {
		if set && v != first {
			return false
		}
		first, set = v, true
	}
	return true
}

func quantityOf(list corev1.ResourceList, name corev1.ResourceName) *resource.Quantity {
	q := list[name]
	return &q
}
