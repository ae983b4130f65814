package catalog

import (
	"context"
	"fmt"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// swappableSource serves whichever snapshot the test sets.
type swappableSource struct{ snapshot *Snapshot }

func (s *swappableSource) Snapshot(context.Context) (*Snapshot, error) { return s.snapshot, nil }

// sameAnswer reports whether two answers are the same cached slice.
func sameAnswer(a, b []*InstanceType) bool {
	return len(a) > 0 && len(a) == len(b) && &a[0] == &b[0]
}

// TestInstanceTypesCache checks what does and does not invalidate the cached
// answer for a pool.
func TestInstanceTypesCache(t *testing.T) {
	ctx := context.Background()
	static := NewStaticSource(seedZones[:3])
	snap, _ := static.Snapshot(ctx)
	source := &swappableSource{snapshot: snap}
	p, err := New(source, Options{})
	if err != nil {
		t.Fatal(err)
	}

	// Objects as the API server serves them: a UID, and a generation that
	// moves with the spec.
	pool := nodePool("general", req(wellknown.InstanceCategoryLabel, corev1.NodeSelectorOpIn, "m"))
	pool.UID, pool.Generation = types.UID("pool-uid"), 1
	class := nodeClass("default", ec2v1.EC2NodeClassSpec{})
	class.UID, class.Generation = types.UID("class-uid"), 1

	lookup := func() []*InstanceType {
		t.Helper()
		got, err := p.InstanceTypes(ctx, pool, class)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	first := lookup()
	if !sameAnswer(first, lookup()) {
		t.Fatal("a repeated lookup was recomputed")
	}

	// The generation identifies the spec: an edit the API server has not
	// counted is not seen, one it has counted is.
	pool.Spec.Template.Spec.Requirements[0].Values = []string{"c"}
	if !sameAnswer(first, lookup()) {
		t.Fatal("the answer changed without a new pool generation")
	}
	pool.Generation = 2
	second := lookup()
	if sameAnswer(first, second) || second[0].Labels[wellknown.InstanceCategoryLabel] != "c" {
		t.Fatal("a new pool generation did not recompute the answer")
	}

	class.Spec.Kubelet = &ec2v1.KubeletConfiguration{MaxPods: ptr.To[int32](10)}
	class.Generation = 2
	third := lookup()
	if sameAnswer(second, third) {
		t.Fatal("a new class generation did not recompute the answer")
	}
	if pods := third[0].Capacity[corev1.ResourcePods]; pods.Value() != 10 {
		t.Errorf("pods = %d after the class set maxPods 10", pods.Value())
	}

	class.Status.Subnets = []ec2v1.Subnet{{ID: "subnet-1", Zone: "us-east-1c"}}
	fourth := lookup()
	if sameAnswer(third, fourth) || len(fourth[0].Offerings) == 0 || fourth[0].Offerings[0].Zone != "us-east-1c" {
		t.Fatal("new subnets in the class status did not recompute the offerings")
	}

	p.MarkUnavailable(ctx, fourth[0].Name, "us-east-1c", wellknown.CapacityTypeOnDemand, "ICE")
	fifth := lookup()
	if sameAnswer(fourth, fifth) {
		t.Fatal("an unavailable offering did not recompute the answer")
	}

	source.snapshot = &Snapshot{Region: snap.Region, Types: snap.Types[:10], Zones: snap.Zones, OnDemandPrices: snap.OnDemandPrices}
	if sixth := lookup(); sameAnswer(fifth, sixth) {
		t.Fatal("a new snapshot did not recompute the answer")
	}
}

// TestInstanceTypesCacheWithoutUID checks that objects that never went
// through an API server, which have no UID and a meaningless generation, are
// told apart by their content.
func TestInstanceTypesCacheWithoutUID(t *testing.T) {
	ctx := context.Background()
	p := newStaticProvider(t, seedZones[:1], Options{})

	m := nodePool("production", req(wellknown.InstanceCategoryLabel, corev1.NodeSelectorOpIn, "m"))
	r := nodePool("production", req(wellknown.InstanceCategoryLabel, corev1.NodeSelectorOpIn, "r"))
	for i, tc := range []struct {
		pool     *karpv1.NodePool
		category string
	}{{m, "m"}, {r, "r"}, {m, "m"}} {
		got, err := p.InstanceTypes(ctx, tc.pool, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c := got[0].Labels[wellknown.InstanceCategoryLabel]; c != tc.category {
			t.Fatalf("lookup %d answered with category %s, want %s", i, c, tc.category)
		}
	}
}

// TestInstanceTypesConcurrent looks up pools while offerings are marked
// unavailable from other goroutines, as the solver and the launcher do; run
// with -race it checks the provider's locking.
func TestInstanceTypesConcurrent(t *testing.T) {
	s := loadSeed(t)
	p := newStaticProvider(t, seedZones, Options{})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, len(s.pools))
	for _, np := range s.pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				types, err := p.InstanceTypes(ctx, np, s.class(np))
				if err == nil && len(types) == 0 {
					err = fmt.Errorf("pool %s allows no types", np.Name)
				}
				if err != nil {
					errs <- err
					return
				}
				p.MarkUnavailable(ctx, types[i%len(types)].Name, "us-east-1a", wellknown.CapacityTypeSpot, "ICE")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
