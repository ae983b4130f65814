package catalog

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// offeringKey names one offering: a type in a zone with a capacity type.
type offeringKey struct {
	instanceType, zone, capacityType string
}

type unavailableEntry struct {
	until  time.Time
	reason string
}

// unavailableOfferings remembers the offerings EC2 recently refused, each for
// a TTL. Its sequence number changes whenever the set changes, by a new entry
// or by one expiring, so that callers can cache what they derive from it and
// notice staleness by comparing one integer.
type unavailableOfferings struct {
	clock clock.PassiveClock
	ttl   time.Duration

	mu      sync.RWMutex
	entries map[offeringKey]unavailableEntry
	// nextExpiry is the earliest until of entries; zero when there are none.
	nextExpiry time.Time
	seq        uint64
}

func newUnavailableOfferings(clk clock.PassiveClock, ttl time.Duration) *unavailableOfferings {
	return &unavailableOfferings{clock: clk, ttl: ttl, entries: map[offeringKey]unavailableEntry{}}
}

// mark takes the offering away for the TTL, counted from at, when EC2
// refused it; a refusal older than the TTL changes nothing. Marking it again
// replaces the reason and never shortens the time.
func (u *unavailableOfferings) mark(key offeringKey, reason string, at time.Time) {
	until := at.Add(u.ttl)
	if !until.After(u.clock.Now()) {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if e, ok := u.entries[key]; ok && e.until.After(until) {
		until = e.until
	}
	u.entries[key] = unavailableEntry{until: until, reason: reason}
	if u.nextExpiry.IsZero() || until.Before(u.nextExpiry) {
		u.nextExpiry = until
	}
	u.seq++
}

// current returns the reasons of the offerings unavailable now, in a map the
// caller owns: a rebuild looks up thousands of offerings, and a copy of the
// few entries saves it a lock and a clock read for each.
func (u *unavailableOfferings) current() map[offeringKey]string {
	now := u.clock.Now()
	u.mu.RLock()
	defer u.mu.RUnlock()
	if len(u.entries) == 0 {
		return nil
	}
	out := make(map[offeringKey]string, len(u.entries))
	for key, e := range u.entries {
		if now.Before(e.until) {
			out[key] = e.reason
		}
	}
	return out
}

// seqNum returns the sequence number of the current set, first dropping the
// entries that have expired. It is called on every catalog lookup, so the
// common case is a read lock and one comparison of times.
func (u *unavailableOfferings) seqNum() uint64 {
	now := u.clock.Now()
	u.mu.RLock()
	seq, next := u.seq, u.nextExpiry
	u.mu.RUnlock()
	if next.IsZero() || now.Before(next) {
		return seq
	}

	u.mu.Lock()
	defer u.mu.Unlock()
	if u.nextExpiry.IsZero() || now.Before(u.nextExpiry) {
		// Another caller expired them first.
		return u.seq
	}
	u.nextExpiry = time.Time{}
	for key, e := range u.entries {
		switch {
		case !now.Before(e.until):
			delete(u.entries, key)
		case u.nextExpiry.IsZero() || e.until.Before(u.nextExpiry):
			u.nextExpiry = e.until
		}
	}
	u.seq++
	return u.seq
}
