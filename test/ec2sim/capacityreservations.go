package ec2sim

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"time"
)

// CapacityReservation is an On-Demand Capacity Reservation of the simulated
// account, as a test configures it with AddCapacityReservation (or POST
// /_sim/capacityreservations) and reads it back.
type CapacityReservation struct {
	// ID is made up when empty (cr-...).
	ID               string `json:"id,omitempty"`
	InstanceType     string `json:"instanceType"`
	AvailabilityZone string `json:"availabilityZone"`
	// TotalInstanceCount is how many instances the reservation holds.
	TotalInstanceCount int `json:"totalInstanceCount"`
	// AvailableInstanceCount is how many of them are not running now; it is
	// computed, and ignored on the way in.
	AvailableInstanceCount int `json:"availableInstanceCount"`
	// OwnerID is the simulated account when empty; another account's
	// reservation is one shared with this account.
	OwnerID string `json:"ownerID,omitempty"`
	// InstanceMatchCriteria is targeted (the default) or open. Instances use
	// a reservation only when their launch targets it, whichever it is.
	InstanceMatchCriteria string `json:"instanceMatchCriteria,omitempty"`
	// State is active by default; expired, cancelled and the like are listed
	// but take no launches. Read back, it is the state at the simulated
	// clock's now: scheduled before StartDate, expired from EndDate on.
	State string            `json:"state,omitempty"`
	Tags  map[string]string `json:"tags,omitempty"`
	// StartDate is when the reservation starts taking launches; at once
	// when zero. A capacity block bought ahead is scheduled until then.
	StartDate time.Time `json:"startDate,omitzero"`
	// EndDate is when the reservation ends; none when zero.
	EndDate time.Time `json:"endDate,omitzero"`
	// ReservationType is default or capacity-block; default when empty. A
	// capacity block takes only launches whose market type is
	// capacity-block, and needs an EndDate, as EC2 sells them.
	ReservationType string `json:"reservationType,omitempty"`
	// Created is when it was added.
	Created time.Time `json:"created,omitzero"`
}

var reservationIDPattern = regexp.MustCompile(`^cr-[0-9a-z]+$`)

// AddCapacityReservation gives the simulated account a capacity reservation
// and returns it as stored, its id filled in. A reservation of an id that
// exists replaces it.
func (s *Simulator) AddCapacityReservation(r CapacityReservation) (CapacityReservation, error) {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	if r.ID == "" {
		r.ID = s.ids.resource("cr")
	}
	if !reservationIDPattern.MatchString(r.ID) {
		return CapacityReservation{}, fmt.Errorf("capacity reservation id %q: want cr-<hex>", r.ID)
	}
	if s.world.types[r.InstanceType] == nil {
		return CapacityReservation{}, fmt.Errorf("capacity reservation %s: unknown instance type %q", r.ID, r.InstanceType)
	}
	if _, ok := zoneNamed(r.AvailabilityZone); !ok {
		return CapacityReservation{}, fmt.Errorf("capacity reservation %s: unknown zone %q (zones: %s)", r.ID, r.AvailabilityZone, zoneList())
	}
	if r.TotalInstanceCount < 1 {
		return CapacityReservation{}, fmt.Errorf("capacity reservation %s: totalInstanceCount must be at least 1", r.ID)
	}
	switch r.InstanceMatchCriteria {
	case "":
		r.InstanceMatchCriteria = "targeted"
	case "open", "targeted":
	default:
		return CapacityReservation{}, fmt.Errorf("capacity reservation %s: instanceMatchCriteria %q: want open or targeted", r.ID, r.InstanceMatchCriteria)
	}
	switch r.ReservationType {
	case "":
		r.ReservationType = "default"
	case "default", "capacity-block":
	default:
		return CapacityReservation{}, fmt.Errorf("capacity reservation %s: reservationType %q: want default or capacity-block", r.ID, r.ReservationType)
	}
	if r.ReservationType == reservationTypeCapacityBlock && r.EndDate.IsZero() {
		return CapacityReservation{}, fmt.Errorf("capacity reservation %s: a capacity block needs an endDate", r.ID)
	}
	if !r.EndDate.IsZero() && !r.StartDate.IsZero() && !r.EndDate.After(r.StartDate) {
		return CapacityReservation{}, fmt.Errorf("capacity reservation %s: endDate %s is not after startDate %s", r.ID, r.EndDate, r.StartDate)
	}
	r.State = or(r.State, "active")
	r.OwnerID = or(r.OwnerID, s.world.account)
	r.Tags = maps.Clone(r.Tags)
	if r.Created.IsZero() {
		r.Created = s.clock.Now()
	}
	stored := r
	s.world.reservations[r.ID] = &stored
	if r.ReservationType == reservationTypeCapacityBlock {
		id, end := r.ID, r.EndDate
		s.timeline.at(end.Add(-blockReclaimLead), func() { s.reclaimBlock(id, end) })
	}
	s.log.Info("Capacity reservation added", "id", r.ID, "instanceType", r.InstanceType, "zone", r.AvailabilityZone, "count", r.TotalInstanceCount)
	return s.reservationLocked(&stored), nil
}

// CapacityReservations lists the account's capacity reservations by id,
// with how many instances each has available now.
func (s *Simulator) CapacityReservations() []CapacityReservation {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	out := make([]CapacityReservation, 0, len(s.world.reservations))
	for _, id := range slices.Sorted(maps.Keys(s.world.reservations)) {
		out = append(out, s.reservationLocked(s.world.reservations[id]))
	}
	return out
}

// reservationTypeCapacityBlock is EC2's reservation type of a Capacity
// Block for ML, and the market type its launches must name.
const reservationTypeCapacityBlock = "capacity-block"

// blockReclaimLead is how long before a Capacity Block's end EC2 starts
// terminating the instances in it: 30 minutes, ten after the expiration
// warning it sends 40 minutes before the end.
const blockReclaimLead = 30 * time.Minute

// reasonCapacityBlockEnding is the state reason of an instance the end of
// its Capacity Block took. EC2 documents no code of its own for it; the
// simulator uses its scheduled-stop code.
var reasonCapacityBlockEnding = stateReason{"Server.ScheduledStop", "Server.ScheduledStop: The Capacity Block of the instance is ending"}

// reclaimBlock terminates the instances still running in a Capacity Block
// as its end nears, unless the block was replaced with another end since.
func (s *Simulator) reclaimBlock(id string, end time.Time) {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	r := s.world.reservations[id]
	if r == nil || r.ReservationType != reservationTypeCapacityBlock || !r.EndDate.Equal(end) {
		return
	}
	var reclaimed []string
	for _, inst := range s.world.instances {
		if inst.CapacityReservationID == id && !inst.gone() {
			s.terminateLocked(inst, reasonCapacityBlockEnding)
			reclaimed = append(reclaimed, inst.ID)
		}
	}
	slices.Sort(reclaimed)
	s.log.Info("Capacity block ending: its instances are reclaimed", "id", id, "end", end, "instances", reclaimed)
}

// reservationLocked is a copy of r with its available count and its state
// now.
func (s *Simulator) reservationLocked(r *CapacityReservation) CapacityReservation {
	out := *r
	out.Tags = maps.Clone(r.Tags)
	out.AvailableInstanceCount = s.reservationFreeLocked(r)
	out.State = s.reservationStateLocked(r)
	return out
}

// reservationStateLocked is the reservation's state at the clock's now: a
// reservation set active is scheduled before its start and expired from its
// end, as EC2 moves capacity blocks along; any other state stays as set.
func (s *Simulator) reservationStateLocked(r *CapacityReservation) string {
	if r.State != "active" {
		return r.State
	}
	now := s.clock.Now()
	switch {
	case !r.StartDate.IsZero() && now.Before(r.StartDate):
		return "scheduled"
	case !r.EndDate.IsZero() && !now.Before(r.EndDate):
		return "expired"
	}
	return r.State
}

// reservationFreeLocked is how many more instances the reservation takes:
// its count less the instances in it that are not shutting down or gone.
func (s *Simulator) reservationFreeLocked(r *CapacityReservation) int {
	used := 0
	for _, inst := range s.world.instances {
		if inst.CapacityReservationID == r.ID && !inst.gone() {
			used++
		}
	}
	return max(r.TotalInstanceCount-used, 0)
}

// reservationErrorLocked says why a launch that targets a reservation
// cannot go into it now, or nil.
func (s *Simulator) reservationErrorLocked(spec launchSpec) error {
	id := spec.Data.CapacityReservationID
	r := s.world.reservations[id]
	switch {
	case r == nil:
		return clientError("InvalidCapacityReservationId.NotFound", "The capacity reservation ID '%s' does not exist", id)
	case spec.Spot:
		return clientError("InvalidParameterCombination", "Capacity Reservations cannot be used with Spot Instances.")
	case s.reservationStateLocked(r) != "active":
		return clientError("InvalidCapacityReservationId.NotFound", "The capacity reservation '%s' is %s", id, s.reservationStateLocked(r))
	case r.ReservationType == reservationTypeCapacityBlock && spec.Data.MarketType != reservationTypeCapacityBlock:
		// EC2 launches into a Capacity Block only with the market type
		// capacity-block (InstanceMarketOptions.MarketType).
		return clientError("InvalidParameterCombination",
			"The Capacity Reservation %s is a Capacity Block: launches into it must set InstanceMarketOptions.MarketType to capacity-block.", id)
	case r.ReservationType != reservationTypeCapacityBlock && spec.Data.MarketType == reservationTypeCapacityBlock:
		return clientError("InvalidParameterCombination",
			"The market type capacity-block requires a Capacity Block; the Capacity Reservation %s is not one.", id)
	case r.InstanceType != spec.Type.Name || r.AvailabilityZone != spec.Subnet.Zone.Name:
		return clientError("InvalidParameterCombination",
			"The instance type (%s) and Availability Zone (%s) do not match those of the Capacity Reservation %s (%s, %s).",
			spec.Type.Name, spec.Subnet.Zone.Name, id, r.InstanceType, r.AvailabilityZone)
	case s.reservationFreeLocked(r) <= 0:
		return clientError("ReservationCapacityExceeded",
			"The requested amount of capacity exceeds the amount available in Capacity Reservation %s.", id)
	}
	return nil
}

type capacityReservationXML struct {
	CapacityReservationID  string   `xml:"capacityReservationId"`
	OwnerID                string   `xml:"ownerId"`
	CapacityReservationARN string   `xml:"capacityReservationArn"`
	AvailabilityZoneID     string   `xml:"availabilityZoneId"`
	InstanceType           string   `xml:"instanceType"`
	InstancePlatform       string   `xml:"instancePlatform"`
	AvailabilityZone       string   `xml:"availabilityZone"`
	Tenancy                string   `xml:"tenancy"`
	TotalInstanceCount     int      `xml:"totalInstanceCount"`
	AvailableInstanceCount int      `xml:"availableInstanceCount"`
	EBSOptimized           bool     `xml:"ebsOptimized"`
	State                  string   `xml:"state"`
	StartDate              string   `xml:"startDate"`
	EndDate                string   `xml:"endDate,omitempty"`
	EndDateType            string   `xml:"endDateType"`
	InstanceMatchCriteria  string   `xml:"instanceMatchCriteria"`
	CreateDate             string   `xml:"createDate"`
	ReservationType        string   `xml:"reservationType"`
	Tags                   []tagXML `xml:"tagSet>item"`
}

type describeCapacityReservationsResponse struct {
	ec2Meta
	CapacityReservations []capacityReservationXML `xml:"capacityReservationSet>item"`
	NextToken            string                   `xml:"nextToken,omitempty"`
}

// describeCapacityReservations answers DescribeCapacityReservations: the
// reservations named (all when none is), that pass the filters.
func (e *ec2API) describeCapacityReservations(_ context.Context, p params) (ec2Body, error) {
	filters, err := readFilters(p)
	if err != nil {
		return nil, err
	}
	s := e.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	var selected []*CapacityReservation
	if ids := p.Strings("CapacityReservationId"); len(ids) > 0 {
		for _, id := range ids {
			r := s.world.reservations[id]
			if r == nil {
				return nil, clientError("InvalidCapacityReservationId.NotFound", "The capacity reservation ID '%s' does not exist", id)
			}
			selected = append(selected, r)
		}
	} else {
		for _, r := range s.world.reservations {
			selected = append(selected, r)
		}
	}
	sort.Slice(selected, func(i, j int) bool { return selected[i].ID < selected[j].ID })
	var matched []CapacityReservation
	for _, r := range selected {
		view := s.reservationLocked(r)
		zone, _ := zoneNamed(r.AvailabilityZone)
		ok, err := matchFilters(filters, withTagAttributes(r.Tags, func(name string) ([]string, bool) {
			switch name {
			case "capacity-reservation-id":
				return []string{r.ID}, true
			case "instance-type":
				return []string{r.InstanceType}, true
			case "availability-zone":
				return []string{r.AvailabilityZone}, true
			case "availability-zone-id":
				return []string{zone.ID}, true
			case "owner-id":
				return []string{r.OwnerID}, true
			case "state":
				return []string{view.State}, true
			case "instance-match-criteria":
				return []string{r.InstanceMatchCriteria}, true
			case "reservation-type":
				return []string{r.ReservationType}, true
			case "tenancy":
				return []string{"default"}, true
			case "instance-platform":
				return []string{"Linux/UNIX"}, true
			case "available-instance-count":
				return []string{strconv.Itoa(view.AvailableInstanceCount)}, true
			}
			return nil, false
		}))
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, view)
		}
	}
	page, next, err := paginateEC2(matched, func(r CapacityReservation) string { return r.ID }, p, pageLimits{min: 1, max: 1000})
	if err != nil {
		return nil, err
	}
	out := &describeCapacityReservationsResponse{NextToken: next}
	for _, r := range page {
		zone, _ := zoneNamed(r.AvailabilityZone)
		x := capacityReservationXML{
			CapacityReservationID: r.ID, OwnerID: r.OwnerID,
			CapacityReservationARN: fmt.Sprintf("arn:aws:ec2:%s:%s:capacity-reservation/%s", Region, r.OwnerID, r.ID),
			AvailabilityZoneID:     zone.ID, AvailabilityZone: r.AvailabilityZone, InstanceType: r.InstanceType,
			InstancePlatform: "Linux/UNIX", Tenancy: "default", EBSOptimized: true,
			TotalInstanceCount: r.TotalInstanceCount, AvailableInstanceCount: r.AvailableInstanceCount,
			State: r.State, StartDate: awsTime(r.Created), CreateDate: awsTime(r.Created), EndDateType: "unlimited",
			InstanceMatchCriteria: r.InstanceMatchCriteria, ReservationType: r.ReservationType, Tags: tagSet(r.Tags),
		}
		if !r.StartDate.IsZero() {
			x.StartDate = awsTime(r.StartDate)
		}
		if !r.EndDate.IsZero() {
			x.EndDate, x.EndDateType = awsTime(r.EndDate), "limited"
		}
		out.CapacityReservations = append(out.CapacityReservations, x)
	}
	return out, nil
}
