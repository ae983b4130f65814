package catalog

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/tailor-project/tailor/apis/wellknown"
)

// offering finds an offering of a type in the provider's answer for pool.
func offering(t *testing.T, p *Provider, pool string, instanceType, zone, capacityType string) Offering {
	t.Helper()
	types, err := p.InstanceTypes(context.Background(), nodePool(pool, req(wellknown.InstanceTypeLabel, corev1.NodeSelectorOpIn, instanceType)), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range types {
		for _, o := range it.Offerings {
			if o.Zone == zone && o.CapacityType == capacityType {
				return o
			}
		}
	}
	t.Fatalf("no offering of %s in %s with %s", instanceType, zone, capacityType)
	return Offering{}
}

func TestMarkUnavailable(t *testing.T) {
	clock := clocktesting.NewFakePassiveClock(time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC))
	p := newStaticProvider(t, seedZones[:2], Options{Clock: clock})
	ctx := context.Background()
	const ice = "InsufficientInstanceCapacity"

	p.MarkUnavailable(ctx, "m5.large", "us-east-1a", wellknown.CapacityTypeSpot, ice)

	if o := offering(t, p, "p", "m5.large", "us-east-1a", wellknown.CapacityTypeSpot); o.Available || o.UnavailableReason != ice {
		t.Errorf("marked offering: available %t, reason %q; want unavailable for %q", o.Available, o.UnavailableReason, ice)
	}
	for _, other := range []struct{ instanceType, zone, capacityType string }{
		{"m5.large", "us-east-1a", wellknown.CapacityTypeOnDemand},
		{"m5.large", "us-east-1b", wellknown.CapacityTypeSpot},
		{"m5.xlarge", "us-east-1a", wellknown.CapacityTypeSpot},
	} {
		if o := offering(t, p, "p", other.instanceType, other.zone, other.capacityType); !o.Available {
			t.Errorf("%v is unavailable, want only the marked offering taken away", other)
		}
	}

	clock.SetTime(clock.Now().Add(DefaultUnavailableOfferingTTL - time.Second))
	if o := offering(t, p, "p", "m5.large", "us-east-1a", wellknown.CapacityTypeSpot); o.Available {
		t.Error("offering is available again before the TTL has passed")
	}
	// Marking again restarts the TTL.
	p.MarkUnavailable(ctx, "m5.large", "us-east-1a", wellknown.CapacityTypeSpot, "again")
	clock.SetTime(clock.Now().Add(2 * time.Second))
	if o := offering(t, p, "p", "m5.large", "us-east-1a", wellknown.CapacityTypeSpot); o.Available || o.UnavailableReason != "again" {
		t.Errorf("re-marked offering: available %t, reason %q; want unavailable for %q", o.Available, o.UnavailableReason, "again")
	}

	clock.SetTime(clock.Now().Add(DefaultUnavailableOfferingTTL))
	if o := offering(t, p, "p", "m5.large", "us-east-1a", wellknown.CapacityTypeSpot); !o.Available || o.UnavailableReason != "" {
		t.Errorf("after the TTL: available %t, reason %q; want available", o.Available, o.UnavailableReason)
	}
}

func TestMarkUnavailableCustomTTL(t *testing.T) {
	clock := clocktesting.NewFakePassiveClock(time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC))
	p := newStaticProvider(t, seedZones[:1], Options{Clock: clock, UnavailableOfferingTTL: 45 * time.Second})
	p.MarkUnavailable(context.Background(), "c5.xlarge", "us-east-1a", wellknown.CapacityTypeOnDemand, "ICE")

	clock.SetTime(clock.Now().Add(44 * time.Second))
	if o := offering(t, p, "p", "c5.xlarge", "us-east-1a", wellknown.CapacityTypeOnDemand); o.Available {
		t.Error("available before the custom TTL has passed")
	}
	clock.SetTime(clock.Now().Add(time.Second))
	if o := offering(t, p, "p", "c5.xlarge", "us-east-1a", wellknown.CapacityTypeOnDemand); !o.Available {
		t.Error("unavailable after the custom TTL has passed")
	}
}

// TestUnavailableSeqNum checks that the sequence number moves when the set
// changes and only then, since the provider's cache depends on it.
func TestUnavailableSeqNum(t *testing.T) {
	clock := clocktesting.NewFakePassiveClock(time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC))
	u := newUnavailableOfferings(clock, time.Minute)
	key := offeringKey{"m5.large", "us-east-1a", wellknown.CapacityTypeSpot}

	s0 := u.seqNum()
	if u.seqNum() != s0 {
		t.Fatal("sequence number moved without a change")
	}
	u.mark(key, "ICE", clock.Now())
	s1 := u.seqNum()
	if s1 == s0 {
		t.Fatal("sequence number did not move on mark")
	}
	clock.SetTime(clock.Now().Add(59 * time.Second))
	if u.seqNum() != s1 {
		t.Fatal("sequence number moved before the entry expired")
	}
	clock.SetTime(clock.Now().Add(time.Second))
	s2 := u.seqNum()
	if s2 == s1 {
		t.Fatal("sequence number did not move when the entry expired")
	}
	if _, unavailable := u.current()[key]; unavailable {
		t.Error("expired entry still unavailable")
	}
	if len(u.entries) != 0 {
		t.Errorf("%d entries left after expiry, want none", len(u.entries))
	}
	if u.seqNum() != s2 {
		t.Error("sequence number moved again with nothing left to expire")
	}
}

// TestMarkUnavailableAt checks that a refusal learnt late counts its TTL from
// when it happened: read again after a restart, an old refusal must not take
// the offering away for another full TTL.
func TestMarkUnavailableAt(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	const ttl = 3 * time.Minute
	for _, tc := range []struct {
		name          string
		refusedAgo    time.Duration
		checkAfter    time.Duration
		wantAvailable bool
	}{
		{name: "fresh refusal holds", refusedAgo: 0, checkAfter: ttl - time.Second, wantAvailable: false},
		{name: "fresh refusal ends at the TTL", refusedAgo: 0, checkAfter: ttl, wantAvailable: true},
		{name: "old refusal holds only what is left", refusedAgo: 2 * time.Minute, checkAfter: time.Minute - time.Second, wantAvailable: false},
		{name: "old refusal ends a TTL after it happened", refusedAgo: 2 * time.Minute, checkAfter: time.Minute, wantAvailable: true},
		{name: "refusal older than the TTL changes nothing", refusedAgo: time.Hour, checkAfter: 0, wantAvailable: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := clocktesting.NewFakePassiveClock(now)
			p := newStaticProvider(t, seedZones[:1], Options{Clock: clock, UnavailableOfferingTTL: ttl})
			p.MarkUnavailableAt(ctx, "m5.large", "us-east-1a", wellknown.CapacityTypeSpot, "ICE", now.Add(-tc.refusedAgo))
			clock.SetTime(now.Add(tc.checkAfter))
			if o := offering(t, p, "p", "m5.large", "us-east-1a", wellknown.CapacityTypeSpot); o.Available != tc.wantAvailable {
				t.Errorf("available %t, want %t", o.Available, tc.wantAvailable)
			}
		})
	}

	// An older refusal learnt after a newer one does not shorten it.
	clock := clocktesting.NewFakePassiveClock(now)
	p := newStaticProvider(t, seedZones[:1], Options{Clock: clock, UnavailableOfferingTTL: ttl})
	p.MarkUnavailable(ctx, "m5.large", "us-east-1a", wellknown.CapacityTypeSpot, "new")
	p.MarkUnavailableAt(ctx, "m5.large", "us-east-1a", wellknown.CapacityTypeSpot, "old", now.Add(-2*time.Minute))
	clock.SetTime(now.Add(ttl - time.Second))
	if o := offering(t, p, "p", "m5.large", "us-east-1a", wellknown.CapacityTypeSpot); o.Available {
		t.Error("an older refusal learnt later shortened a newer one")
	}
}
