package requirements

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/tailor-project/tailor/apis/wellknown"
)

// hotPath is the shape of the scheduler's inner loop: the seed pool narrowed
// by a pod, judged against one instance type.
type hotPath struct {
	pool, pod, merged   Requirements
	matching, excluding map[string]string // full node labels
	itMatching          Requirements      // instance type labels alone
}

func newHotPath() hotPath {
	pool := FromNodePool(seedNodePool())
	pod := NewRequirements(
		NewRequirement(wellknown.ZoneLabel, corev1.NodeSelectorOpIn, "us-east-1a", "us-east-1b"),
		NewRequirement(wellknown.InstanceCPULabel, corev1.NodeSelectorOpGt, "1"),
		NewRequirement("team", corev1.NodeSelectorOpNotIn, "red"),
	)
	merged := NewRequirements()
	for _, r := range pool {
		merged.Add(r)
	}
	for _, r := range pod {
		merged.Add(r)
	}
	m7i := instanceTypeLabels("m7i.large", "m", "m7i", "7", "large")
	m7i[wellknown.InstanceCPULabel] = "2"
	m5 := instanceTypeLabels("m5.large", "m", "m5", "5", "large")
	m5[wellknown.InstanceCPULabel] = "2"
	return hotPath{
		pool: pool, pod: pod, merged: merged,
		matching: nodeLabels(m7i), excluding: nodeLabels(m5),
		itMatching: FromLabels(m7i),
	}
}

func TestHotPathDoesNotAllocate(t *testing.T) {
	h := newHotPath()
	if err := h.merged.MatchesLabels(h.matching); err != nil {
		t.Fatalf("fixture does not match: %v", err)
	}
	if err := h.merged.MatchesLabels(h.excluding); err == nil {
		t.Fatal("fixture for exclusion matches")
	}
	checks := map[string]func(){
		"MatchesLabels": func() { _ = h.merged.MatchesLabels(h.matching) },
		"Intersects":    func() { _ = h.merged.Intersects(h.itMatching) },
		"Compatible":    func() { _ = h.pool.Compatible(h.pod) },
		"Has":           func() { _ = h.merged.Get(wellknown.InstanceGenerationLabel).Has("7") },
	}
	for name, f := range checks {
		if allocs := testing.AllocsPerRun(100, f); allocs != 0 {
			t.Errorf("%s allocates %.1f times per call", name, allocs)
		}
	}
}

func BenchmarkMatchesLabels(b *testing.B) {
	h := newHotPath()
	b.Run("match", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if h.merged.MatchesLabels(h.matching) != nil {
				b.Fatal("no match")
			}
		}
	})
	b.Run("mismatch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if h.merged.MatchesLabels(h.excluding) == nil {
				b.Fatal("match")
			}
		}
	})
}

func BenchmarkIntersects(b *testing.B) {
	h := newHotPath()
	b.Run("instance type", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if h.merged.Intersects(h.itMatching) != nil {
				b.Fatal("no intersection")
			}
		}
	})
	b.Run("pool and pod", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if h.pool.Intersects(h.pod) != nil {
				b.Fatal("no intersection")
			}
		}
	})
}

func BenchmarkCompatible(b *testing.B) {
	h := newHotPath()
	b.ReportAllocs()
	for b.Loop() {
		if h.pool.Compatible(h.pod) != nil {
			b.Fatal("incompatible")
		}
	}
}

func BenchmarkIntersection(b *testing.B) {
	zones := NewRequirement(wellknown.ZoneLabel, corev1.NodeSelectorOpIn, "us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d")
	notIn := NewRequirement(wellknown.ZoneLabel, corev1.NodeSelectorOpNotIn, "us-east-1d")
	b.ReportAllocs()
	for b.Loop() {
		_ = zones.Intersection(notIn)
	}
}
