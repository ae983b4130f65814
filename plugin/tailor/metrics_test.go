package tailor_test

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/component-base/metrics/legacyregistry"

	launchermetrics "github.com/tailor-project/tailor/launcher/metrics"
	"github.com/tailor-project/tailor/plugin/tailor"
	"github.com/tailor-project/tailor/test/scrape"
)

// scraped is a metric's value on the registry the scheduler serves on
// /metrics, zero when it has no matching series.
func scraped(name string, labels map[string]string) float64 {
	v, _ := scrape.Value(legacyregistry.DefaultGatherer, name, labels)
	return v
}

// metricsBefore remembers the scheduler's metrics as a test starts: the
// registry is the process's, so tests compare what moved, not totals.
type metricsBefore struct {
	created, batches, scheduling float64
}

func metricsNow() metricsBefore {
	return metricsBefore{
		created:    scraped("karpenter_nodeclaims_created_total", map[string]string{"nodepool": "default", "reason": "provisioned"}),
		batches:    scraped("tailor_batch_size", nil),
		scheduling: scraped("karpenter_scheduler_scheduling_duration_seconds", map[string]string{"controller": "provisioner"}),
	}
}

// expectMetricsMoved checks what the scheduler reports once it has planned
// claims for pods: one claim created for each in the cluster, and at
// least one batch and one scheduling simulation; every pod holds a
// reservation until it binds.
func (e *env) expectMetricsMoved(before metricsBefore, claims, reserved int) {
	e.t.Helper()
	var now metricsBefore
	var held float64
	// The counters move right after the claims are written: give them a
	// moment.
	err := wait.PollUntilContextTimeout(e.ctx, 100*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		now, held = metricsNow(), scraped("tailor_reservations_held", nil)
		return now.created-before.created == float64(claims) && held == float64(reserved), nil
	})
	if err != nil {
		e.t.Errorf("karpenter_nodeclaims_created_total moved by %v, %d claims in the cluster; tailor_reservations_held %v, %d pods reserved",
			now.created-before.created, claims, held, reserved)
	}
	if now.batches <= before.batches {
		e.t.Errorf("tailor_batch_size observed no batch")
	}
	if now.scheduling <= before.scheduling {
		e.t.Errorf("karpenter_scheduler_scheduling_duration_seconds observed no provisioning simulation")
	}
}

// TestPlannedPriceAnnotation: the launcher reads the planned price where
// the plugin writes it.
func TestPlannedPriceAnnotation(t *testing.T) {
	if launchermetrics.PlannedPriceAnnotation != tailor.PriceAnnotation {
		t.Errorf("the launcher reads %s, the plugin writes %s", launchermetrics.PlannedPriceAnnotation, tailor.PriceAnnotation)
	}
}
