package ec2sim

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Faults are the failures the simulated account injects. They are what a
// launcher must survive in AWS and cannot provoke there on demand.
type Faults struct {
	// InsufficientCapacity pools have no capacity: CreateFleet reports an
	// InsufficientInstanceCapacity error for their overrides, RunInstances
	// fails with it.
	InsufficientCapacity []Pool `json:"insufficientCapacity,omitempty"`
	// NotOffered pools do not exist: DescribeInstanceTypeOfferings leaves
	// them out and launches in them fail with Unsupported. Their capacity
	// type is ignored.
	NotOffered []Pool `json:"notOffered,omitempty"`
	// NeverJoin pools launch instances that run but never register a Node,
	// as when a node's bootstrap fails.
	NeverJoin []Pool `json:"neverJoin,omitempty"`
	// ThrottleRate is the fraction of EC2 calls refused with
	// RequestLimitExceeded, in [0, 1].
	ThrottleRate float64 `json:"throttleRate,omitempty"`
}

// Pool names EC2 capacity pools: an instance type in a zone with a capacity
// type. Empty fields match any value.
type Pool struct {
	InstanceType string `json:"instanceType,omitempty"`
	Zone         string `json:"zone,omitempty"`
	CapacityType string `json:"capacityType,omitempty"`
}

// ParsePool reads the command-line form of a Pool, type:zone:capacity-type,
// where a part may be empty or * to match anything and trailing parts may be
// left out: "m5.large:us-east-1a:spot", "m5.large", "*:us-east-1b".
func ParsePool(s string) (Pool, error) {
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return Pool{}, fmt.Errorf("pool %q has more than three parts: want instance-type:zone:capacity-type", s)
	}
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	for i := range parts {
		if parts[i] == "*" {
			parts[i] = ""
		}
	}
	p := Pool{InstanceType: parts[0], Zone: parts[1], CapacityType: parts[2]}
	return p, p.validate()
}

func (p Pool) String() string {
	part := func(s string) string {
		if s == "" {
			return "*"
		}
		return s
	}
	return part(p.InstanceType) + ":" + part(p.Zone) + ":" + part(p.CapacityType)
}

func (p Pool) validate() error {
	if p.Zone != "" {
		if _, ok := zoneNamed(p.Zone); !ok {
			return fmt.Errorf("pool %s: zone %q is not one of the simulated zones %s", p, p.Zone, zoneList())
		}
	}
	switch p.CapacityType {
	case "", "on-demand", "spot":
	default:
		return fmt.Errorf("pool %s: capacity type %q is not on-demand or spot", p, p.CapacityType)
	}
	return nil
}

func (p Pool) matches(instanceType, zone, capacityType string) bool {
	return (p.InstanceType == "" || p.InstanceType == instanceType) &&
		(p.Zone == "" || p.Zone == zone) &&
		(p.CapacityType == "" || capacityType == "" || p.CapacityType == capacityType)
}

// Validate reports faults that name zones or capacity types that do not
// exist, or a throttle rate outside [0, 1].
func (f Faults) Validate() error {
	for _, list := range [][]Pool{f.InsufficientCapacity, f.NotOffered, f.NeverJoin} {
		for _, p := range list {
			if err := p.validate(); err != nil {
				return err
			}
		}
	}
	if f.ThrottleRate < 0 || f.ThrottleRate > 1 {
		return fmt.Errorf("throttle rate %v is not in [0, 1]", f.ThrottleRate)
	}
	return nil
}

// String is a one-line summary for logs.
func (f Faults) String() string {
	pools := func(ps []Pool) string {
		s := make([]string, len(ps))
		for i, p := range ps {
			s[i] = p.String()
		}
		return "[" + strings.Join(s, " ") + "]"
	}
	return fmt.Sprintf("insufficientCapacity=%s notOffered=%s neverJoin=%s throttleRate=%v",
		pools(f.InsufficientCapacity), pools(f.NotOffered), pools(f.NeverJoin), f.ThrottleRate)
}

func zoneList() string {
	names := make([]string, len(zones))
	for i, z := range zones {
		names[i] = z.Name
	}
	return strings.Join(names, ", ")
}

// faultSet holds the faults in effect, which the admin endpoint changes
// while requests consult them.
type faultSet struct {
	mu     sync.Mutex
	faults Faults
	random *ids
}

func newFaultSet(f Faults, random *ids) *faultSet {
	fs := &faultSet{random: random}
	fs.set(f)
	return fs
}

func (fs *faultSet) get() Faults {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.faults
}

// set replaces the faults with a copy, so the caller's slices stay theirs.
func (fs *faultSet) set(f Faults) {
	f.InsufficientCapacity = slices.Clone(f.InsufficientCapacity)
	f.NotOffered = slices.Clone(f.NotOffered)
	f.NeverJoin = slices.Clone(f.NeverJoin)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = f
}

func anyMatches(pools []Pool, instanceType, zone, capacityType string) bool {
	for _, p := range pools {
		if p.matches(instanceType, zone, capacityType) {
			return true
		}
	}
	return false
}

func (fs *faultSet) insufficientCapacity(instanceType, zone, capacityType string) bool {
	return anyMatches(fs.get().InsufficientCapacity, instanceType, zone, capacityType)
}

func (fs *faultSet) notOffered(instanceType, zone string) bool {
	return anyMatches(fs.get().NotOffered, instanceType, zone, "")
}

func (fs *faultSet) neverJoin(instanceType, zone, capacityType string) bool {
	return anyMatches(fs.get().NeverJoin, instanceType, zone, capacityType)
}

// throttled draws whether this call is refused for the request rate.
func (fs *faultSet) throttled() bool {
	rate := fs.get().ThrottleRate
	return rate > 0 && fs.random.float() < rate
}
