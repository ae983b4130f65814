package ec2sim

import (
	"testing"
	"time"
)

// TestSpotPrices: every pool's simulated price stays within 30-70% of
// on-demand at all times, is the same for every caller, holds within an
// hour, drifts across hours, and differs between zones.
func TestSpotPrices(t *testing.T) {
	s, err := New(Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC)
	drifted, zonesDiffer := 0, 0
	for i, name := range s.world.typeNames {
		if i%7 != 0 {
			continue
		}
		onDemand, ok := s.world.onDemand[name]
		if !ok {
			if _, ok := s.spotPrice(name, zones[0], start); ok {
				t.Errorf("%s has no on-demand price but a spot price", name)
			}
			continue
		}
		first, _ := s.spotPrice(name, zones[0], start)
		if other, _ := s.spotPrice(name, zones[1], start); other != first {
			zonesDiffer++
		}
		for h := range 48 {
			at := start.Add(time.Duration(h) * time.Hour)
			price, _ := s.spotPrice(name, zones[0], at)
			if price < 0.3*onDemand-0.0001 || price > 0.7*onDemand+0.0001 {
				t.Fatalf("%s at %v: spot %v is outside [30%%, 70%%] of on-demand %v", name, at, price, onDemand)
			}
			if again, _ := s.spotPrice(name, zones[0], at.Add(59*time.Minute)); again != price {
				t.Fatalf("%s changed price within the hour from %v", name, at)
			}
			if price != first {
				drifted++
			}
		}
		if d := spotDepth(name, zones[0]); d < 1 || d > maxSpotDepth {
			t.Errorf("%s depth %d outside [1, %d]", name, d, maxSpotDepth)
		}
	}
	if drifted == 0 || zonesDiffer == 0 {
		t.Errorf("prices never drift (%d) or never differ between zones (%d)", drifted, zonesDiffer)
	}
}
