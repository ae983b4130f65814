package aws

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/tailor-project/tailor/launcher/catalog"
)

// Defaults of Options.
const (
	// DefaultInstanceTypesTTL is how long the instance types, zones and zone
	// offerings are kept: they change when AWS launches a type or a zone.
	DefaultInstanceTypesTTL = time.Hour
	// DefaultOnDemandPricesTTL is how long on-demand prices are kept: they
	// change a few times a year.
	DefaultOnDemandPricesTTL = 12 * time.Hour
	// DefaultSpotPricesTTL is how long spot prices are kept: they move with
	// supply and demand during the day.
	DefaultSpotPricesTTL = 5 * time.Minute
	// DefaultRetryAfter is how long a failed refresh waits before the next try.
	DefaultRetryAfter = time.Minute
)

// Options configure a Source. Region is required; zero durations mean the
// defaults.
type Options struct {
	// Region whose types and prices are read.
	Region            string
	InstanceTypesTTL  time.Duration
	OnDemandPricesTTL time.Duration
	SpotPricesTTL     time.Duration
	RetryAfter        time.Duration
	// Clock tells the time for the TTLs; the real clock when nil.
	Clock clock.PassiveClock
}

// Source is the catalog.Source that reads EC2 and the Pricing API.
type Source struct {
	region      string
	instances   *refreshed[[]catalog.Info]
	zones       *refreshed[zoneOfferings]
	onDemand    *refreshed[map[string]float64]
	spot        *refreshed[map[string]map[string]float64]
	mu          sync.Mutex
	snapshot    *catalog.Snapshot
	snapshotVer [4]uint64
}

var _ catalog.Source = &Source{}

// NewSource returns a Source reading through the given clients; see
// NewClients.
func NewSource(ec2Client EC2API, pricingClient PricingAPI, opts Options) (*Source, error) {
	if opts.Region == "" {
		return nil, errors.New("no AWS region: set AWS_REGION or a region in the AWS configuration")
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	retry := orDefault(opts.RetryAfter, DefaultRetryAfter)
	region := opts.Region
	return &Source{
		region: region,
		instances: &refreshed[[]catalog.Info]{
			name: "instance types", clock: clk, retryAfter: retry,
			ttl: orDefault(opts.InstanceTypesTTL, DefaultInstanceTypesTTL),
			fetch: func(ctx context.Context) ([]catalog.Info, error) {
				return describeInstanceTypes(ctx, ec2Client)
			},
		},
		zones: &refreshed[zoneOfferings]{
			name: "zones and instance type offerings", clock: clk, retryAfter: retry,
			ttl: orDefault(opts.InstanceTypesTTL, DefaultInstanceTypesTTL),
			fetch: func(ctx context.Context) (zoneOfferings, error) {
				return describeZoneOfferings(ctx, ec2Client)
			},
		},
		onDemand: &refreshed[map[string]float64]{
			name: "on-demand prices", clock: clk, retryAfter: retry,
			ttl: orDefault(opts.OnDemandPricesTTL, DefaultOnDemandPricesTTL),
			fetch: func(ctx context.Context) (map[string]float64, error) {
				return getOnDemandPrices(ctx, pricingClient, region)
			},
			fallback:     catalog.StaticOnDemandPrices,
			fallbackName: fmt.Sprintf("the on-demand prices compiled into Tailor (%s)", catalog.StaticRegion),
		},
		spot: &refreshed[map[string]map[string]float64]{
			name: "spot prices", clock: clk, retryAfter: retry,
			ttl: orDefault(opts.SpotPricesTTL, DefaultSpotPricesTTL),
			fetch: func(ctx context.Context) (map[string]map[string]float64, error) {
				return describeSpotPrices(ctx, ec2Client, clk.Now())
			},
			// Without spot prices spot offerings are unpriced, not unavailable.
			fallback:     func() map[string]map[string]float64 { return nil },
			fallbackName: "no spot prices",
		},
	}, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Snapshot implements catalog.Source. It refreshes what is due, and returns
// the previous snapshot when nothing changed.
func (s *Source) Snapshot(ctx context.Context) (*catalog.Snapshot, error) {
	infos, typesVer, err := s.instances.get(ctx)
	if err != nil {
		return nil, err
	}
	zones, zonesVer, err := s.zones.get(ctx)
	if err != nil {
		return nil, err
	}
	onDemand, onDemandVer, err := s.onDemand.get(ctx)
	if err != nil {
		return nil, err
	}
	spot, spotVer, err := s.spot.get(ctx)
	if err != nil {
		return nil, err
	}

	versions := [4]uint64{typesVer, zonesVer, onDemandVer, spotVer}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snapshot != nil && s.snapshotVer == versions {
		return s.snapshot, nil
	}
	s.snapshot = &catalog.Snapshot{
		Region:         s.region,
		Types:          infos,
		Zones:          zones.zones,
		Offered:        zones.offered,
		OnDemandPrices: onDemand,
		SpotPrices:     spot,
	}
	s.snapshotVer = versions
	return s.snapshot, nil
}
