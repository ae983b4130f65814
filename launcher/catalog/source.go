package catalog

import (
	"context"

	"k8s.io/apimachinery/pkg/util/sets"
)

// Source supplies the facts a Provider is built on: the compiled-in table
// (StaticSource) or EC2 (package launcher/aws).
type Source interface {
	// Snapshot returns the current facts. The Provider calls it on every
	// lookup, so it must be cheap when nothing changed, and it must return the
	// same *Snapshot until something does: a new pointer is what tells the
	// Provider to rebuild its caches. A Snapshot is never modified once
	// returned.
	Snapshot(ctx context.Context) (*Snapshot, error)
}

// Snapshot is what a Source knows at one moment.
type Snapshot struct {
	// Region the facts are for; it becomes the topology.kubernetes.io/region
	// label of every type.
	Region string
	// Types are the instance types of the region.
	Types []Info
	// Zones are the availability zones instances may be launched in.
	Zones []Zone
	// Offered maps an instance type to the names of the zones that offer it.
	// A nil map means every type is offered in every zone.
	Offered map[string]sets.Set[string]
	// OnDemandPrices are hourly USD prices by instance type. A type without a
	// price is never offered: it cannot be ranked against the others.
	OnDemandPrices map[string]float64
	// SpotPrices are hourly USD prices by instance type and zone name. A nil
	// map means spot prices are unknown (offline mode): spot offerings are
	// then offered with PriceKnown false. In a non-nil map a missing entry
	// means EC2 has no spot market for the type in that zone.
	SpotPrices map[string]map[string]float64
}

// offered reports whether a type may be launched in a zone at all.
func (s *Snapshot) offered(instanceType, zone string) bool {
	if s.Offered == nil {
		return true
	}
	return s.Offered[instanceType].Has(zone)
}
