package catalog

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// BenchmarkInstanceTypes resolves every seed NodePool against the full
// static catalog (1,363 types, six zones, two capacity types); one op is one
// lookup per pool. The pools and classes carry UIDs and generations, as
// objects from the API server do.
//
//   - cached: what the solver pays on every call in steady state;
//   - unavailable: after an offering was marked unavailable, which
//     recomputes every pool's types and offerings;
//   - new-generation: after every pool and class changed, which also
//     recomputes capacity and allocatable.
func BenchmarkInstanceTypes(b *testing.B) {
	s := loadSeed(b)
	var pools []*karpv1.NodePool
	for _, name := range slices.Sorted(maps.Keys(s.pools)) {
		np := s.pools[name].DeepCopy()
		np.UID, np.Generation = types.UID("uid-"+name), 1
		pools = append(pools, np)
	}
	classes := map[*karpv1.NodePool]*ec2v1.EC2NodeClass{}
	for _, np := range pools {
		if nc := s.class(np); nc != nil {
			nc = nc.DeepCopy()
			nc.UID, nc.Generation = types.UID("uid-"+nc.Name), 1
			classes[np] = nc
		}
	}
	ctx := context.Background()

	resolveAll := func(b *testing.B, p *Provider) {
		for _, np := range pools {
			its, err := p.InstanceTypes(ctx, np, classes[np])
			if err != nil {
				b.Fatal(err)
			}
			if len(its) == 0 {
				b.Fatalf("pool %s allows no types", np.Name)
			}
		}
	}

	b.Run("cached", func(b *testing.B) {
		p := newStaticProvider(b, seedZones, Options{})
		resolveAll(b, p)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			resolveAll(b, p)
		}
	})

	b.Run("unavailable", func(b *testing.B) {
		p := newStaticProvider(b, seedZones, Options{})
		resolveAll(b, p)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p.MarkUnavailable(ctx, "m5.large", seedZones[i%len(seedZones)].Name, wellknown.CapacityTypeSpot, fmt.Sprint("ICE ", i))
			resolveAll(b, p)
		}
	})

	b.Run("new-generation", func(b *testing.B) {
		p := newStaticProvider(b, seedZones, Options{})
		resolveAll(b, p)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for _, np := range pools {
				np.Generation++
			}
			for _, nc := range classes {
				nc.Generation++
			}
			resolveAll(b, p)
		}
	})
}
