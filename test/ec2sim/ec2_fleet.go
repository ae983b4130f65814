package ec2sim

import (
	"context"
	"math"
	"sort"
	"strconv"
)

// Allocation strategies of CreateFleet.
const (
	strategyLowestPrice                 = "lowest-price"
	strategyPrioritized                 = "prioritized"
	strategyPriceCapacityOptimized      = "price-capacity-optimized"
	strategyCapacityOptimized           = "capacity-optimized"
	strategyCapacityOptimizedPrioritize = "capacity-optimized-prioritized"
	strategyDiversified                 = "diversified"
)

var (
	onDemandStrategies = map[string]bool{strategyLowestPrice: true, strategyPrioritized: true}
	spotStrategies     = map[string]bool{
		strategyLowestPrice: true, strategyPriceCapacityOptimized: true, strategyCapacityOptimized: true,
		strategyCapacityOptimizedPrioritize: true, strategyDiversified: true,
	}
)

type createFleetResponse struct {
	ec2Meta
	FleetID   string              `xml:"fleetId"`
	Errors    []fleetErrorXML     `xml:"errorSet>item"`
	Instances []fleetInstancesXML `xml:"fleetInstanceSet>item"`
}

type fleetLaunchXML struct {
	Spec      fleetTemplateSpecXML `xml:"launchTemplateSpecification"`
	Overrides *fleetOverridesXML   `xml:"overrides,omitempty"`
}

type fleetTemplateSpecXML struct {
	LaunchTemplateID   string `xml:"launchTemplateId,omitempty"`
	LaunchTemplateName string `xml:"launchTemplateName,omitempty"`
	Version            string `xml:"version,omitempty"`
}

type fleetOverridesXML struct {
	InstanceType     string   `xml:"instanceType,omitempty"`
	SubnetID         string   `xml:"subnetId,omitempty"`
	AvailabilityZone string   `xml:"availabilityZone,omitempty"`
	ImageID          string   `xml:"imageId,omitempty"`
	MaxPrice         string   `xml:"maxPrice,omitempty"`
	Priority         *float64 `xml:"priority,omitempty"`
	WeightedCapacity *float64 `xml:"weightedCapacity,omitempty"`
}

type fleetErrorXML struct {
	Launch       fleetLaunchXML `xml:"launchTemplateAndOverrides"`
	Lifecycle    string         `xml:"lifecycle"`
	ErrorCode    string         `xml:"errorCode"`
	ErrorMessage string         `xml:"errorMessage"`
}

type fleetInstancesXML struct {
	Launch             fleetLaunchXML `xml:"launchTemplateAndOverrides"`
	Lifecycle          string         `xml:"lifecycle"`
	InstanceIDs        []string       `xml:"instanceIds>item"`
	InstanceType       string         `xml:"instanceType"`
	AvailabilityZone   string         `xml:"availabilityZone"`
	AvailabilityZoneID string         `xml:"availabilityZoneId"`
	SubnetID           string         `xml:"subnetId"`
	Platform           string         `xml:"platform,omitempty"`
}

// fleetRequest is a parsed CreateFleet request.
type fleetRequest struct {
	configs []fleetConfig
	// capacityBlock is a fleet of DefaultTargetCapacityType capacity-block,
	// launched on the on-demand side from capacity-block templates.
	capacityBlock    bool
	onDemandTarget   int
	spotTarget       int
	onDemandStrategy string
	spotStrategy     string
	onDemandOptions  fleetPoolOptions
	spotOptions      fleetPoolOptions
	// tagSpecs are the request's TagSpecifications: an instant fleet tags
	// the instances and volumes it launches with them, over the template's.
	tagSpecs []tagSpecification
}

// fleetPoolOptions are the per-market options that limit where a fleet may
// put its instances.
type fleetPoolOptions struct {
	singleInstanceType bool
	singleZone         bool
	minTargetCapacity  int
}

type fleetConfig struct {
	spec      fleetTemplateSpecXML
	overrides []fleetOverride
}

type fleetOverride struct {
	xml      fleetOverridesXML
	priority *float64
	weight   float64
}

// fleetPool is one override of one config, resolved for one market: a
// capacity pool the fleet may launch into.
type fleetPool struct {
	launch fleetLaunchXML
	spec   launchSpec
	err    error
	order  int
	price  float64
	depth  int
	prio   *float64
	weight float64
}

// createFleet answers CreateFleet of type instant as EC2 does: each
// override is a pool (instance type x subnet x market); pools that cannot
// launch (no capacity, not offered, bad template, full subnet) are reported
// in the errorSet, and the target capacity is filled from the healthy ones in
// the order of the market's allocation strategy. A request repeating an
// earlier one's ClientToken gets that request's answer, launching nothing.
func (e *ec2API) createFleet(_ context.Context, p params) (ec2Body, error) {
	req, err := readFleetRequest(p)
	if err != nil {
		return nil, err
	}
	s := e.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	if body, ok, err := s.replayLocked(p); ok || err != nil {
		return body, err
	}
	out := &createFleetResponse{FleetID: "fleet-" + s.ids.uuid()}
	markets := []struct {
		spot     bool
		target   int
		strategy string
		options  fleetPoolOptions
	}{
		{false, req.onDemandTarget, req.onDemandStrategy, req.onDemandOptions},
		{true, req.spotTarget, req.spotStrategy, req.spotOptions},
	}
	for _, m := range markets {
		if m.target == 0 {
			continue
		}
		lifecycle := "on-demand"
		if m.spot {
			lifecycle = "spot"
		}
		var healthy []*fleetPool
		for _, pool := range s.fleetPoolsLocked(req, m.spot) {
			if pool.err == nil {
				pool.spec.FleetID = out.FleetID
				pool.err = s.capacityErrorLocked(pool.spec)
			}
			if pool.err != nil {
				out.Errors = append(out.Errors, fleetError(pool, lifecycle, pool.err))
				continue
			}
			healthy = append(healthy, pool)
		}
		orderPools(healthy, m.strategy)
		launched, errs := s.fillLocked(healthy, m.target, m.strategy, m.options)
		for _, pe := range errs {
			out.Errors = append(out.Errors, fleetError(pe.pool, lifecycle, pe.err))
		}
		for _, l := range launched {
			entry := fleetInstancesXML{
				Launch: l.pool.launch, Lifecycle: lifecycle, InstanceIDs: instanceIDs(l.instances),
				InstanceType: l.pool.spec.Type.Name, AvailabilityZone: l.pool.spec.Subnet.Zone.Name,
				AvailabilityZoneID: l.pool.spec.Subnet.Zone.ID, SubnetID: l.pool.spec.Subnet.ID,
			}
			if l.pool.spec.Image.Windows {
				entry.Platform = "windows"
			}
			out.Instances = append(out.Instances, entry)
			s.log.Info("CreateFleet launched", "fleet", out.FleetID, "instances", entry.InstanceIDs,
				"instanceType", entry.InstanceType, "zone", entry.AvailabilityZone, "capacityType", lifecycle)
		}
	}
	if len(out.Errors) > 0 {
		s.log.Info("CreateFleet reported errors", "fleet", out.FleetID, "errors", len(out.Errors), "firstCode", out.Errors[0].ErrorCode)
	}
	// The answer is remembered even when it launched nothing: EC2 created
	// the fleet, and a retry with the token gets the same fleet and errors.
	s.rememberLocked(p, func() ec2Body {
		again := *out
		return &again
	})
	return out, nil
}

func readFleetRequest(p params) (*fleetRequest, error) {
	if typ := p.String("Type"); typ != "instant" {
		if typ == "" {
			typ = "maintain (the default)"
		}
		return nil, clientError("Unsupported", "The fleet type %s is not simulated: only instant fleets are", typ)
	}
	tcs := p.Struct("TargetCapacitySpecification")
	total, err := tcs.Int("TotalTargetCapacity")
	if err != nil {
		return nil, err
	}
	if total == nil {
		return nil, errMissingParameter("TargetCapacitySpecification.TotalTargetCapacity")
	}
	if *total < 1 || *total > 1000 {
		return nil, errInvalidParameterValue("TotalTargetCapacity", strconv.FormatInt(*total, 10), "Expecting a capacity between 1 and 1000.")
	}
	defaultType, err := tcs.Required("DefaultTargetCapacityType")
	if err != nil {
		return nil, err
	}
	if defaultType != "on-demand" && defaultType != "spot" && defaultType != reservationTypeCapacityBlock {
		return nil, errInvalidParameterValue("DefaultTargetCapacityType", defaultType, "Expecting on-demand, spot or capacity-block.")
	}
	req := &fleetRequest{
		capacityBlock:    defaultType == reservationTypeCapacityBlock,
		onDemandStrategy: or(p.String("OnDemandOptions.AllocationStrategy"), strategyLowestPrice),
		spotStrategy:     or(p.String("SpotOptions.AllocationStrategy"), strategyLowestPrice),
	}
	if !onDemandStrategies[req.onDemandStrategy] {
		return nil, errInvalidParameterValue("OnDemandOptions.AllocationStrategy", req.onDemandStrategy, "Expecting lowest-price or prioritized.")
	}
	if !spotStrategies[req.spotStrategy] {
		return nil, errInvalidParameterValue("SpotOptions.AllocationStrategy", req.spotStrategy,
			"Expecting lowest-price, price-capacity-optimized, capacity-optimized, capacity-optimized-prioritized or diversified.")
	}
	if req.onDemandOptions, err = readPoolOptions(p.Struct("OnDemandOptions")); err != nil {
		return nil, err
	}
	if req.spotOptions, err = readPoolOptions(p.Struct("SpotOptions")); err != nil {
		return nil, err
	}
	od, err := tcs.Int("OnDemandTargetCapacity")
	if err != nil {
		return nil, err
	}
	spot, err := tcs.Int("SpotTargetCapacity")
	if err != nil {
		return nil, err
	}
	if od != nil {
		req.onDemandTarget = int(*od)
	}
	if spot != nil {
		req.spotTarget = int(*spot)
	}
	if req.onDemandTarget < 0 || req.spotTarget < 0 || int64(req.onDemandTarget+req.spotTarget) > *total {
		return nil, clientError("InvalidParameterValue", "OnDemandTargetCapacity and SpotTargetCapacity may not exceed TotalTargetCapacity")
	}
	rest := int(*total) - req.onDemandTarget - req.spotTarget
	if defaultType == "spot" {
		req.spotTarget += rest
	} else {
		req.onDemandTarget += rest
	}
	configs := p.List("LaunchTemplateConfigs")
	if len(configs) == 0 {
		return nil, errMissingParameter("LaunchTemplateConfigs")
	}
	for _, c := range configs {
		spec := c.Struct("LaunchTemplateSpecification")
		cfg := fleetConfig{spec: fleetTemplateSpecXML{
			LaunchTemplateID: spec.String("LaunchTemplateId"), LaunchTemplateName: spec.String("LaunchTemplateName"),
			Version: spec.String("Version"),
		}}
		for _, o := range c.List("Overrides") {
			override, err := readFleetOverride(o)
			if err != nil {
				return nil, err
			}
			cfg.overrides = append(cfg.overrides, override)
		}
		req.configs = append(req.configs, cfg)
	}
	if req.tagSpecs, err = readTagSpecifications(p); err != nil {
		return nil, err
	}
	return req, nil
}

func readPoolOptions(p params) (fleetPoolOptions, error) {
	var o fleetPoolOptions
	var err error
	if o.singleInstanceType, err = p.Bool("SingleInstanceType"); err != nil {
		return o, err
	}
	if o.singleZone, err = p.Bool("SingleAvailabilityZone"); err != nil {
		return o, err
	}
	min, err := p.Int("MinTargetCapacity")
	if err != nil {
		return o, err
	}
	if min != nil {
		o.minTargetCapacity = int(*min)
	}
	return o, nil
}

func readFleetOverride(o params) (fleetOverride, error) {
	out := fleetOverride{weight: 1, xml: fleetOverridesXML{
		InstanceType: o.String("InstanceType"), SubnetID: o.String("SubnetId"),
		AvailabilityZone: o.String("AvailabilityZone"), ImageID: o.String("ImageId"), MaxPrice: o.String("MaxPrice"),
	}}
	prio, err := o.Float("Priority")
	if err != nil {
		return out, err
	}
	weight, err := o.Float("WeightedCapacity")
	if err != nil {
		return out, err
	}
	out.priority, out.xml.Priority = prio, prio
	if weight != nil {
		if *weight <= 0 {
			return out, errInvalidParameterValue(o.prefix+"WeightedCapacity", o.String("WeightedCapacity"), "Expecting a positive weight.")
		}
		out.weight, out.xml.WeightedCapacity = *weight, weight
	}
	return out, nil
}

// fleetPoolsLocked resolves every override of every config for one market,
// in request order. A pool that cannot be resolved carries its error.
func (s *Simulator) fleetPoolsLocked(req *fleetRequest, spot bool) []*fleetPool {
	var pools []*fleetPool
	now := s.clock.Now()
	for _, cfg := range req.configs {
		tpl, tplErr := s.templateLocked(cfg.spec.LaunchTemplateID, cfg.spec.LaunchTemplateName, cfg.spec.Version)
		overrides := cfg.overrides
		if len(overrides) == 0 {
			overrides = []fleetOverride{{weight: 1}}
		}
		for _, o := range overrides {
			pool := &fleetPool{order: len(pools), prio: o.priority, weight: o.weight, launch: fleetLaunchXML{Spec: cfg.spec}}
			if o.xml != (fleetOverridesXML{}) {
				ox := o.xml
				pool.launch.Overrides = &ox
			}
			pools = append(pools, pool)
			if tplErr != nil {
				pool.err = tplErr
				continue
			}
			pool.launch.Spec.LaunchTemplateID = tpl.ID
			data := tpl.Data.overlay(launchData{
				InstanceType: o.xml.InstanceType, ImageID: o.xml.ImageID, Zone: o.xml.AvailabilityZone, SpotMaxPrice: o.xml.MaxPrice,
				TagSpecifications: req.tagSpecs,
			})
			// The fleet's market decides, except that a template's
			// capacity-block market type stays for the fleet to check.
			block := data.MarketType == reservationTypeCapacityBlock
			data.MarketType = ""
			switch {
			case spot:
				data.MarketType = "spot"
			case block:
				data.MarketType = reservationTypeCapacityBlock
			}
			if req.capacityBlock != (data.MarketType == reservationTypeCapacityBlock) {
				// EC2 fills a capacity-block fleet only from templates of
				// that market type, and those only in such a fleet.
				pool.err = clientError("InvalidParameterCombination",
					"A fleet launches into Capacity Blocks only with DefaultTargetCapacityType capacity-block and launch templates of InstanceMarketOptions.MarketType capacity-block.")
				continue
			}
			data.NetworkInterfaces = placeInterfaces(data.NetworkInterfaces, o.xml.SubnetID, o.xml.AvailabilityZone)
			if pool.spec, pool.err = s.resolveLaunchLocked(data, o.xml.SubnetID); pool.err != nil {
				continue
			}
			pool.spec.Template = tpl
			pool.depth = spotDepth(pool.spec.Type.Name, pool.spec.Subnet.Zone)
			pool.price = math.Inf(1)
			if spot {
				if price, ok := s.spotPrice(pool.spec.Type.Name, pool.spec.Subnet.Zone, now); ok {
					pool.price = price
				}
			} else if price, ok := s.world.onDemand[pool.spec.Type.Name]; ok {
				pool.price = price
			}
		}
	}
	return pools
}

// orderPools sorts healthy pools into the order the allocation strategy
// tries them. Ties keep the request's order.
func orderPools(pools []*fleetPool, strategy string) {
	byPriority := func(a, b *fleetPool) int {
		switch {
		case a.prio == nil && b.prio == nil:
			return 0
		case a.prio == nil:
			return 1
		case b.prio == nil:
			return -1
		case *a.prio < *b.prio:
			return -1
		case *a.prio > *b.prio:
			return 1
		}
		return 0
	}
	byPrice := func(a, b *fleetPool) int {
		switch {
		case a.price < b.price:
			return -1
		case a.price > b.price:
			return 1
		}
		return 0
	}
	byDepth := func(a, b *fleetPool) int { return b.depth - a.depth }
	deepest := 0
	for _, p := range pools {
		deepest = max(deepest, p.depth)
	}
	// price-capacity-optimized takes the pools with the most capacity (the
	// top band of simulated depth) first, the cheapest of them first.
	inTopBand := func(p *fleetPool) int {
		if p.depth >= deepest-2 {
			return 0
		}
		return 1
	}
	var keys []func(a, b *fleetPool) int
	switch strategy {
	case strategyPrioritized:
		keys = []func(a, b *fleetPool) int{byPriority, byPrice}
	case strategyPriceCapacityOptimized:
		keys = []func(a, b *fleetPool) int{func(a, b *fleetPool) int { return inTopBand(a) - inTopBand(b) }, byPrice}
	case strategyCapacityOptimized:
		keys = []func(a, b *fleetPool) int{byDepth, byPrice}
	case strategyCapacityOptimizedPrioritize:
		keys = []func(a, b *fleetPool) int{byPriority, byDepth, byPrice}
	default: // lowest-price, and diversified, which spreads from the cheapest
		keys = []func(a, b *fleetPool) int{byPrice}
	}
	sort.SliceStable(pools, func(i, j int) bool {
		for _, k := range keys {
			if c := k(pools[i], pools[j]); c != 0 {
				return c < 0
			}
		}
		return pools[i].order < pools[j].order
	})
}

type poolLaunch struct {
	pool      *fleetPool
	instances []*instance
}

type poolError struct {
	pool *fleetPool
	err  error
}

// fillLocked launches target units of capacity from the ordered pools: all
// from the first pool that can take them (or round-robin across pools for
// diversified), moving on when a subnet runs out of addresses. A
// MinTargetCapacity that the healthy pools cannot reach launches nothing.
func (s *Simulator) fillLocked(pools []*fleetPool, target int, strategy string, o fleetPoolOptions) ([]poolLaunch, []poolError) {
	if len(pools) == 0 {
		return nil, nil
	}
	if o.minTargetCapacity > 0 {
		reachable := 0.0
		for _, p := range pools {
			reachable += float64(p.spec.Subnet.free()) * p.weight
		}
		if reachable < float64(o.minTargetCapacity) {
			return nil, []poolError{{pools[0], clientError("UnfulfillableCapacity",
				"Unable to fulfill capacity due to your request configuration. Please adjust your request and try again.")}}
		}
	}
	first := pools[0]
	allowed := func(p *fleetPool) bool {
		return (!o.singleInstanceType || p.spec.Type == first.spec.Type) && (!o.singleZone || p.spec.Subnet.Zone == first.spec.Subnet.Zone)
	}
	launched := map[*fleetPool][]*instance{}
	var order []*fleetPool
	var errs []poolError
	remaining := float64(target)
	take := func(p *fleetPool, n int) bool {
		got := s.launchLocked(p.spec, n)
		if len(got) == 0 {
			errs = append(errs, poolError{p, clientError("InsufficientFreeAddressesInSubnet",
				"There are not enough free addresses in subnet '%s' to satisfy the requested number of instances.", p.spec.Subnet.ID)})
			return false
		}
		if _, seen := launched[p]; !seen {
			order = append(order, p)
		}
		launched[p] = append(launched[p], got...)
		remaining -= float64(len(got)) * p.weight
		return len(got) == n
	}
	if strategy == strategyDiversified {
		active := append([]*fleetPool(nil), pools...)
		for remaining > 0 && len(active) > 0 {
			next := active[:0]
			for _, p := range active {
				if remaining <= 0 {
					break
				}
				if take(p, 1) {
					next = append(next, p)
				}
			}
			active = next
		}
	} else {
		for _, p := range pools {
			if remaining <= 0 {
				break
			}
			if !allowed(p) {
				continue
			}
			take(p, int(math.Ceil(remaining/p.weight)))
		}
	}
	out := make([]poolLaunch, 0, len(order))
	for _, p := range order {
		out = append(out, poolLaunch{pool: p, instances: launched[p]})
	}
	return out, errs
}

func fleetError(p *fleetPool, lifecycle string, err error) fleetErrorXML {
	e := asAPIError(err)
	return fleetErrorXML{Launch: p.launch, Lifecycle: lifecycle, ErrorCode: e.Code, ErrorMessage: e.Message}
}
