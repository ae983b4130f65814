// Package scrape reads metrics as Prometheus would scrape them, for tests
// that check the values the components report.
package scrape

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Value sums the series of a metric whose labels include labels, as a
// query would: the gauge's or counter's value, or a histogram's or
// summary's count. ok is false when no series matches. g is the registry a
// component serves on /metrics.
func Value(g prometheus.Gatherer, name string, labels map[string]string) (float64, bool) {
	families, err := g.Gather()
	if err != nil {
		return 0, false
	}
	var sum float64
	found := false
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue metrics
				}
			}
			found = true
			switch {
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Histogram != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			case m.Summary != nil:
				sum += float64(m.GetSummary().GetSampleCount())
			case m.Untyped != nil:
				sum += m.GetUntyped().GetValue()
			}
		}
	}
	return sum, found
}
