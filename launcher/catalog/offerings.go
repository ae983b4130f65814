package catalog

import (
	"time"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// capacityTypes are the capacity types the catalog offers, in the order
// offerings list them.
var capacityTypes = []string{wellknown.CapacityTypeOnDemand, wellknown.CapacityTypeSpot}

// reservedPriceFraction is the share of the on-demand price a reserved
// offering is priced at. A reservation is paid for whether it is used or
// not, so launching into it costs next to nothing, and ranking by price
// tries it before anything else; as Karpenter does, it is not quite free,
// so that a larger reserved type still ranks above a smaller one.
const reservedPriceFraction = 1e-7

// Offering is one way to launch an instance type: in a zone, with a capacity
// type, at an hourly price.
type Offering struct {
	Zone string `json:"zone"`
	// ZoneID is empty when the zone's id is unknown (offline mode).
	ZoneID       string `json:"zoneID,omitempty"`
	CapacityType string `json:"capacityType"`
	// Price is the hourly price in USD. When PriceKnown is false the catalog
	// has no price for the offering, as for spot in offline mode, and Price is
	// the on-demand price of the type: the most a spot instance launched at
	// the default maximum price can cost. A ranking by Price then never puts
	// an unpriced offering ahead of a priced one that is cheaper. A type
	// without an on-demand price has Price zero and no available offering.
	Price      float64 `json:"price"`
	PriceKnown bool    `json:"priceKnown"`
	// Available is false while EC2 has recently refused the offering for lack
	// of capacity, and for offerings that cannot be priced at all.
	Available bool `json:"available"`
	// UnavailableReason says why the offering is not available.
	UnavailableReason string `json:"unavailableReason,omitempty"`
	// ReservationID is the capacity reservation an offering of capacity
	// type reserved launches into; empty for the others.
	ReservationID string `json:"reservationID,omitempty"`
	// ReservationType is the type of that reservation, default (an ODCR)
	// or capacity-block; empty for the other capacity types.
	ReservationType string `json:"reservationType,omitempty"`
}

// Matches reports whether a node launched from the offering satisfies reqs
// on the keys the offering decides: zone, zone id, capacity type and, for a
// reserved one, the reservation's id and type (which the others' nodes do
// not carry). It does not allocate, so the solver may call it for every
// offering it weighs.
func (o *Offering) Matches(reqs requirements.Requirements) bool {
	return labelAllowed(reqs, wellknown.ZoneLabel, o.Zone) &&
		labelAllowed(reqs, wellknown.TopologyZoneIDLabel, o.ZoneID) &&
		labelAllowed(reqs, wellknown.CapacityTypeLabel, o.CapacityType) &&
		labelAllowed(reqs, wellknown.CapacityReservationIDLabel, o.ReservationID) &&
		labelAllowed(reqs, wellknown.CapacityReservationTypeLabel, o.ReservationType)
}

// labelAllowed judges one label of the would-be node, where an empty value
// means the node will not carry the label.
func labelAllowed(reqs requirements.Requirements, key, value string) bool {
	req, ok := reqs[key]
	switch {
	case !ok:
		return true
	case value == "":
		return req.AllowsAbsent()
	default:
		return req.Has(value)
	}
}

// Offerings are the offerings of one instance type.
type Offerings []Offering

// Available returns the offerings that are available now.
func (list Offerings) Available() Offerings {
	var out Offerings
	for _, o := range list {
		if o.Available {
			out = append(out, o)
		}
	}
	return out
}

// Cheapest returns the cheapest available offering of a capacity type, false
// when there is none. An offering with a known price is preferred to one
// without at equal Price.
func (list Offerings) Cheapest(capacityType string) (Offering, bool) {
	var best *Offering
	for i := range list {
		o := &list[i]
		if !o.Available || o.CapacityType != capacityType {
			continue
		}
		if best == nil || o.Price < best.Price || o.Price == best.Price && o.PriceKnown && !best.PriceKnown {
			best = o
		}
	}
	if best == nil {
		return Offering{}, false
	}
	return *best, true
}

// offeringBuilder makes the offerings of the types a NodePool allows.
type offeringBuilder struct {
	snap *Snapshot
	// unavailable are the reasons of the offerings unavailable now.
	unavailable map[offeringKey]string
	// zones are the zones the pool and the node class allow, in snapshot order.
	zones []Zone
	// capacityTypes are the capacity types the pool allows.
	capacityTypes []string
	// reservations are the class's capacity reservations by instance type,
	// in the zones allowed, when the pool allows capacity type reserved.
	reservations map[string][]reservation
}

// reservation is a capacity reservation of the node class, in an allowed
// zone.
type reservation struct {
	id   string
	zone Zone
	// kind is the reservation type, default or capacity-block.
	kind string
}

// appendOfferings appends the offerings of one type to dst.
func (b *offeringBuilder) appendOfferings(dst Offerings, name string) Offerings {
	onDemand, hasOnDemand := b.snap.OnDemandPrices[name]
	for _, zone := range b.zones {
		if !b.snap.offered(name, zone.Name) {
			continue
		}
		for _, ct := range b.capacityTypes {
			o := Offering{Zone: zone.Name, ZoneID: zone.ID, CapacityType: ct, Available: true}
			switch {
			case !hasOnDemand:
				o.Available, o.UnavailableReason = false, "no on-demand price is known for the type"
			case ct == wellknown.CapacityTypeOnDemand:
				o.Price, o.PriceKnown = onDemand, true
			case b.snap.SpotPrices == nil:
				o.Price = onDemand
			default:
				spot, ok := b.snap.SpotPrices[name][zone.Name]
				if !ok {
					o.Price = onDemand
					o.Available, o.UnavailableReason = false, "no spot market for the type in the zone"
					break
				}
				o.Price, o.PriceKnown = spot, true
			}
			if o.Available && len(b.unavailable) > 0 {
				if reason, unavailable := b.unavailable[offeringKey{name, zone.Name, ct}]; unavailable {
					o.Available, o.UnavailableReason = false, reason
				}
			}
			dst = append(dst, o)
		}
	}
	for _, r := range b.reservations[name] {
		o := Offering{Zone: r.zone.Name, ZoneID: r.zone.ID, CapacityType: wellknown.CapacityTypeReserved,
			Price: onDemand * reservedPriceFraction, PriceKnown: true, Available: true, ReservationID: r.id, ReservationType: r.kind}
		if reason, unavailable := b.unavailable[offeringKey{name, r.zone.Name, wellknown.CapacityTypeReserved}]; unavailable {
			o.Available, o.UnavailableReason = false, reason
		}
		dst = append(dst, o)
	}
	return dst
}

// classReservations are the node class's capacity reservations by instance
// type, those in the zones given that the pool's requirements on the
// reservation labels allow and that take launches: a Capacity Block whose
// end is near (state expiring) is left out, since its instances would be
// reclaimed about as soon as they joined.
func classReservations(nc *ec2v1.EC2NodeClass, zones []Zone, reqs requirements.Requirements, now time.Time) map[string][]reservation {
	if nc == nil || len(nc.Status.CapacityReservations) == 0 {
		return nil
	}
	byName := map[string]Zone{}
	for _, z := range zones {
		byName[z.Name] = z
	}
	out := map[string][]reservation{}
	for _, cr := range nc.Status.CapacityReservations {
		z, ok := byName[cr.AvailabilityZone]
		kind := cr.ReservationType
		if kind == "" {
			kind = wellknown.CapacityReservationTypeDefault
		}
		// The status turns a block expiring when the class is next
		// resolved; the end time says so at once.
		if !ok || cr.State != "" && cr.State != ec2v1.CapacityReservationStateActive || ec2v1.BlockExpiring(kind, cr.EndTime, now) {
			continue
		}
		if !labelAllowed(reqs, wellknown.CapacityReservationIDLabel, cr.ID) || !labelAllowed(reqs, wellknown.CapacityReservationTypeLabel, kind) {
			continue
		}
		out[cr.InstanceType] = append(out[cr.InstanceType], reservation{id: cr.ID, zone: z, kind: kind})
	}
	return out
}
