package scrape

import (
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Spec is how Karpenter defines a metric: its type and its label names,
// sorted and comma-separated. A dashboard's query matches a metric only if
// its name, type and labels all do.
type Spec struct {
	Type   dto.MetricType
	Labels string
}

// CheckNames fails t for each metric of the collectors that served does not
// serve, that is not Tailor's own (tailor_) and not one of Karpenter's in
// want with the same type and labels, and for each of want that none of the
// collectors reports. The collectors must have recorded a sample of every
// labelled metric first: a metric with no series shows no labels.
func CheckNames(t *testing.T, served prometheus.Gatherer, collectors []prometheus.Collector, want map[string]Spec) {
	t.Helper()
	families, err := served.Gather()
	if err != nil {
		t.Fatal(err)
	}
	onRegistry := map[string]bool{}
	for _, f := range families {
		onRegistry[f.GetName()] = true
	}
	reported := map[string]bool{}
	for _, c := range collectors {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			name := f.GetName()
			reported[name] = true
			if !onRegistry[name] {
				t.Errorf("%s is not served by the component's registry", name)
			}
			if strings.HasPrefix(name, "tailor_") {
				continue
			}
			spec, ok := want[name]
			if !ok {
				t.Errorf("%s is neither Karpenter's nor tailor_", name)
				continue
			}
			if f.GetType() != spec.Type {
				t.Errorf("%s is a %s, Karpenter's a %s", name, f.GetType(), spec.Type)
			}
			if got := labelNames(f); got != spec.Labels {
				t.Errorf("%s has labels %q, Karpenter's %q", name, got, spec.Labels)
			}
		}
	}
	for name := range want {
		if !reported[name] || !onRegistry[name] {
			t.Errorf("Karpenter's %s is not reported", name)
		}
	}
}

func labelNames(f *dto.MetricFamily) string {
	var names []string
	if len(f.GetMetric()) > 0 {
		for _, l := range f.GetMetric()[0].GetLabel() {
			names = append(names, l.GetName())
		}
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}
