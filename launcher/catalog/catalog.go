package catalog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// Catalog is what the scheduler plugin may launch and the launcher reports
// back to.
type Catalog interface {
	// InstanceTypes returns the instance types nodePool allows, as nodes built
	// from nodeClass, each with the offerings nodePool allows; sorted by name.
	// Types with no such offering are left out; offerings that are not
	// available now are kept, with Available false and the reason.
	//
	// nodeClass may be nil when the pool's class is not known: the nodes are
	// then sized with the defaults of DefaultAMIFamily.
	//
	// The result is shared with every other caller and must not be modified.
	InstanceTypes(ctx context.Context, nodePool *karpv1.NodePool, nodeClass *ec2v1.EC2NodeClass) ([]*InstanceType, error)

	// MarkUnavailable takes an offering away for a while, because EC2 refused
	// to launch it (insufficient capacity, say); the next InstanceTypes
	// reports it unavailable with the reason until the TTL has passed.
	MarkUnavailable(ctx context.Context, instanceType, zone, capacityType, reason string)

	// MarkUnavailableAt is MarkUnavailable for a refusal that happened at a
	// given time, learnt later (from a NodeClaim's annotation, say): the TTL
	// runs from then, so an old refusal read again after a restart does not
	// take the offering away a second time.
	MarkUnavailableAt(ctx context.Context, instanceType, zone, capacityType, reason string, at time.Time)
}

// Provider is the Catalog built on a Source.
//
// The solver asks for the same NodePool many times per scheduling pass, so
// the answer is cached in two layers: per EC2NodeClass generation the types
// with their labels, capacity and allocatable, which only the class changes;
// per NodePool generation the types the pool allows with their offerings,
// which also depend on the class's subnets and on the unavailable offerings.
// A new Snapshot from the Source drops both. A lookup that hits the cache
// takes a read lock and compares a few keys.
type Provider struct {
	source      Source
	opts        Options
	unavailable *unavailableOfferings

	mu       sync.RWMutex
	snapshot *Snapshot
	// labels holds each type's labels per operating system, aligned with
	// snapshot.Types, so that node classes of one OS share them.
	labels  map[osInfo][]map[string]string
	classes map[string]*classEntry
	pools   map[poolCacheKey]*poolEntry
}

var _ Catalog = &Provider{}

// classEntry is a node class's types, without offerings.
type classEntry struct {
	key   objectKey
	types []*InstanceType
}

type poolCacheKey struct {
	pool, class string
}

// poolEntry is a pool's answer and what it was computed from.
type poolEntry struct {
	pool  objectKey
	class *classEntry
	zones uint64
	seq   uint64
	types []*InstanceType
}

// New returns a Provider over source.
func New(source Source, opts Options) (*Provider, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Provider{
		source:      source,
		opts:        opts,
		unavailable: newUnavailableOfferings(opts.Clock, opts.UnavailableOfferingTTL),
	}, nil
}

// InstanceTypes implements Catalog.
func (p *Provider) InstanceTypes(ctx context.Context, nodePool *karpv1.NodePool, nodeClass *ec2v1.EC2NodeClass) ([]*InstanceType, error) {
	if nodePool == nil {
		return nil, errors.New("no NodePool")
	}
	snap, err := p.source.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading instance type facts: %w", err)
	}
	seq := p.unavailable.seqNum()
	poolKey, err := poolKeyOf(nodePool)
	if err != nil {
		return nil, fmt.Errorf("NodePool %s: %w", nodePool.Name, err)
	}
	classKey, err := classKeyOf(nodeClass)
	if err != nil {
		return nil, fmt.Errorf("EC2NodeClass %s: %w", nodeClass.Name, err)
	}
	zones := subnetZones(nodeClass)
	cacheKey := poolCacheKey{pool: nodePool.Name, class: classKey.name}

	p.mu.RLock()
	if e := p.pools[cacheKey]; p.snapshot == snap && e != nil && e.pool == poolKey && e.class.key == classKey && e.zones == zones && e.seq == seq {
		types := e.types
		p.mu.RUnlock()
		return types, nil
	}
	p.mu.RUnlock()

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.snapshot != snap {
		p.snapshot = snap
		p.labels = map[osInfo][]map[string]string{}
		p.classes = map[string]*classEntry{}
		p.pools = map[poolCacheKey]*poolEntry{}
	}
	class := p.classes[classKey.name]
	if class == nil || class.key != classKey {
		types, err := p.classTypes(nodeClass)
		if err != nil {
			return nil, fmt.Errorf("EC2NodeClass %s: %w", classKey.name, err)
		}
		class = &classEntry{key: classKey, types: types}
		p.classes[classKey.name] = class
	}
	e := &poolEntry{pool: poolKey, class: class, zones: zones, seq: seq}
	e.types = p.poolTypes(nodePool, nodeClass, class.types)
	p.pools[cacheKey] = e
	return e.types, nil
}

// MarkUnavailable implements Catalog.
func (p *Provider) MarkUnavailable(ctx context.Context, instanceType, zone, capacityType, reason string) {
	p.MarkUnavailableAt(ctx, instanceType, zone, capacityType, reason, p.opts.Clock.Now())
}

// MarkUnavailableAt implements Catalog.
func (p *Provider) MarkUnavailableAt(ctx context.Context, instanceType, zone, capacityType, reason string, at time.Time) {
	p.unavailable.mark(offeringKey{instanceType, zone, capacityType}, reason, at)
	klog.FromContext(ctx).V(1).Info("Offering marked unavailable",
		"instanceType", instanceType, "zone", zone, "capacityType", capacityType,
		"reason", reason, "refusedAt", at, "for", p.opts.UnavailableOfferingTTL)
}

// classTypes builds every type of the snapshot as a node of the class. It
// runs with p.mu held.
func (p *Provider) classTypes(nc *ec2v1.EC2NodeClass) ([]*InstanceType, error) {
	settings, err := settingsFor(nc)
	if err != nil {
		return nil, err
	}
	labels := p.labelsFor(settings.family.os)
	infos := p.snapshot.Types
	block := make([]InstanceType, 0, len(infos))
	types := make([]*InstanceType, 0, len(infos))
	for i := range infos {
		info := &infos[i]
		// Windows Server runs on x86 only.
		if settings.family.os.name == wellknown.OSWindows && info.Arch != wellknown.ArchAMD64 {
			continue
		}
		capacity, overhead, allocatable := resources(info, settings, p.opts.VMMemoryOverheadFraction)
		block = append(block, InstanceType{
			Name:        info.Name,
			Info:        info,
			Labels:      labels[i],
			Capacity:    capacity,
			Overhead:    overhead,
			Allocatable: allocatable,
		})
		types = append(types, &block[len(block)-1])
	}
	return types, nil
}

// labelsFor returns the labels of every snapshot type on the given OS. It
// runs with p.mu held.
func (p *Provider) labelsFor(nodeOS osInfo) []map[string]string {
	if labels, ok := p.labels[nodeOS]; ok {
		return labels
	}
	labels := make([]map[string]string, len(p.snapshot.Types))
	for i := range p.snapshot.Types {
		labels[i] = infoLabels(&p.snapshot.Types[i], p.snapshot.Region, nodeOS)
	}
	p.labels[nodeOS] = labels
	return labels
}

// poolTypes selects the class types the pool allows and gives each the
// offerings the pool and the class allow. It runs with p.mu held.
func (p *Provider) poolTypes(np *karpv1.NodePool, nc *ec2v1.EC2NodeClass, classTypes []*InstanceType) []*InstanceType {
	reqs := requirements.FromNodePool(np)
	var typeReqs []*requirements.Requirement
	for key, req := range reqs {
		if typeLabelKeys.Has(key) {
			typeReqs = append(typeReqs, req)
		}
	}
	builder := &offeringBuilder{
		snap:        p.snapshot,
		unavailable: p.unavailable.current(),
		zones:       allowedZones(p.snapshot.Zones, reqs, nc),
	}
	// On-demand and spot nodes carry no reservation labels: a pool that
	// requires one takes reserved offerings only.
	noReservation := labelAllowed(reqs, wellknown.CapacityReservationIDLabel, "") && labelAllowed(reqs, wellknown.CapacityReservationTypeLabel, "")
	for _, ct := range capacityTypes {
		if noReservation && labelAllowed(reqs, wellknown.CapacityTypeLabel, ct) {
			builder.capacityTypes = append(builder.capacityTypes, ct)
		}
	}
	// As in Karpenter, a pool launches into reservations only when its
	// capacity type requirement names reserved: one that says nothing of
	// the capacity type does not spend them.
	if ct, ok := reqs[wellknown.CapacityTypeLabel]; ok && ct.Has(wellknown.CapacityTypeReserved) {
		builder.reservations = classReservations(nc, builder.zones, reqs, p.opts.Clock.Now())
	}
	if len(builder.zones) == 0 || len(builder.capacityTypes) == 0 && len(builder.reservations) == 0 {
		return nil
	}

	var matched []*InstanceType
	for _, it := range classTypes {
		if matchesLabels(typeReqs, it.Labels) {
			matched = append(matched, it)
		}
	}
	// One array each for the types and their offerings, sized for the most
	// they can hold, keeps a rebuild to a handful of allocations.
	block := make([]InstanceType, 0, len(matched))
	types := make([]*InstanceType, 0, len(matched))
	offerings := make(Offerings, 0, len(matched)*len(builder.zones)*len(builder.capacityTypes)+len(builder.reservations))
	for _, it := range matched {
		start := len(offerings)
		offerings = builder.appendOfferings(offerings, it.Name)
		if len(offerings) == start {
			continue
		}
		block = append(block, *it)
		block[len(block)-1].Offerings = offerings[start:len(offerings):len(offerings)]
		types = append(types, &block[len(block)-1])
	}
	return types
}

// matchesLabels is Requirements.MatchesLabels without the error, which
// would be built, and allocated, for each of the many types a pool excludes.
func matchesLabels(reqs []*requirements.Requirement, labels map[string]string) bool {
	for _, req := range reqs {
		value, ok := labels[req.Key]
		if ok && !req.Has(value) || !ok && !req.AllowsAbsent() {
			return false
		}
	}
	return true
}

// allowedZones are the snapshot's zones that the pool's requirements allow
// and, once the class has resolved its subnets, that hold one of them.
func allowedZones(zones []Zone, reqs requirements.Requirements, nc *ec2v1.EC2NodeClass) []Zone {
	var subnetZones sets.Set[string]
	if nc != nil && len(nc.Status.Subnets) > 0 {
		subnetZones = sets.New[string]()
		for _, s := range nc.Status.Subnets {
			subnetZones.Insert(s.Zone)
		}
	}
	var out []Zone
	for _, z := range zones {
		if subnetZones != nil && !subnetZones.Has(z.Name) {
			continue
		}
		if labelAllowed(reqs, wellknown.ZoneLabel, z.Name) && labelAllowed(reqs, wellknown.TopologyZoneIDLabel, z.ID) {
			out = append(out, z)
		}
	}
	return out
}
