package catalog

import (
	"context"
	"slices"
	"sync"
)

// staticType is a row of the compiled-in table (zz_generated.instancetypes.go).
type staticType struct {
	Info
	// OnDemandUSD is the Linux on-demand hourly price in staticRegion; zero
	// for the types without a public price.
	OnDemandUSD float64
}

// staticPrice is the on-demand price of a type the table has no facts for.
type staticPrice struct {
	Name        string
	OnDemandUSD float64
}

// StaticRegion is the region of the compiled-in prices.
const StaticRegion = staticRegion

// staticFacts are the table's types and prices as Snapshot fields, built once.
var staticFacts = sync.OnceValues(func() ([]Info, map[string]float64) {
	types := make([]Info, len(staticTypes))
	prices := make(map[string]float64, len(staticTypes)+len(staticPriceOnly))
	for i := range staticTypes {
		types[i] = staticTypes[i].Info
		if p := staticTypes[i].OnDemandUSD; p > 0 {
			prices[staticTypes[i].Name] = p
		}
	}
	for _, p := range staticPriceOnly {
		prices[p.Name] = p.OnDemandUSD
	}
	return types, prices
})

// StaticInstanceTypes returns the facts of the compiled-in table, sorted by
// name, in a slice the caller owns.
func StaticInstanceTypes() []Info {
	types, _ := staticFacts()
	return slices.Clone(types)
}

// StaticOnDemandPrices returns the compiled-in Linux on-demand prices of
// StaticRegion, in USD per hour by instance type. The map is shared: do not
// modify it.
func StaticOnDemandPrices() map[string]float64 {
	_, prices := staticFacts()
	return prices
}

// StaticSource serves the compiled-in facts: every type of the table in
// every zone it is given, at the table's on-demand prices. It knows no spot
// prices, so spot offerings carry PriceKnown false (see Offering.Price); it
// never invents them.
type StaticSource struct {
	snapshot *Snapshot
}

var _ Source = &StaticSource{}

// NewStaticSource returns a source for the given zones of StaticRegion. Zone
// ids may be left empty: they are account-specific and offline mode cannot
// know them.
func NewStaticSource(zones []Zone) *StaticSource {
	types, prices := staticFacts()
	return &StaticSource{snapshot: &Snapshot{
		Region:         StaticRegion,
		Types:          types,
		Zones:          slices.Clone(zones),
		OnDemandPrices: prices,
	}}
}

// Snapshot returns the same facts on every call.
func (s *StaticSource) Snapshot(context.Context) (*Snapshot, error) {
	return s.snapshot, nil
}
