package e2e

import (
	"crypto/tls"
	"net/http"
	"time"

	"github.com/tailor-project/tailor/test/scrape"
)

// scraped is a metric's value on a child's /metrics, scraped over HTTP as
// Prometheus scrapes it: summed over the series whose labels include
// labels. The test fails when the scrape does.
func (s *system) scraped(child, name string, labels map[string]string) float64 {
	s.t.Helper()
	url, ok := s.metrics[child]
	if !ok {
		s.t.Fatalf("%s serves no /metrics", child)
	}
	cert, err := s.cluster.ControlPlane.AdminCertificate()
	if err != nil {
		s.t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		// The admin's certificate authenticates the scrape to the
		// scheduler, which asks the API server whether it may read
		// /metrics. The scheduler's serving certificate is one it made
		// for itself at start: there is nothing to verify it against.
		Certificates:       []tls.Certificate{cert},
		InsecureSkipVerify: true, //nolint:gosec // a test's loopback scrape of a self-signed server
	}}}
	g := scrape.HTTP(client, url)
	if _, err := g.Gather(); err != nil {
		s.t.Fatalf("scraping %s: %v", child, err)
	}
	v, _ := scrape.Value(g, name, labels)
	return v
}
