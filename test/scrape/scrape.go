// Package scrape reads metrics as Prometheus would scrape them, for tests
// that check the values the components report.
package scrape

import (
	"fmt"
	"io"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
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

// HTTP is the /metrics endpoint at url as a Gatherer: each Gather scrapes
// it once through client, as Prometheus would, and parses the text format.
func HTTP(client *http.Client, url string) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		resp, err := client.Get(url)
		if err != nil {
			return nil, fmt.Errorf("scraping %s: %w", url, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return nil, fmt.Errorf("scraping %s: %s: %s", url, resp.Status, body)
		}
		var parser expfmt.TextParser
		families, err := parser.TextToMetricFamilies(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("parsing the metrics of %s: %w", url, err)
		}
		out := make([]*dto.MetricFamily, 0, len(families))
		for _, f := range families {
			out = append(out, f)
		}
		return out, nil
	})
}
