package reservation

import (
	"encoding/json"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// HoldAnnotation on a replacement NodeClaim lists, as JSON, the room kept on
// it for the pods of the nodes it replaces, so a restarted scheduler keeps
// holding it.
const HoldAnnotation = "tailor.sh/held-for"

// Hold is room on a claim kept for a pod that does not exist yet: the one a
// controller makes anew when the node its pod runs on is disrupted. Room
// bought to replace a node must go to the replaced node's pods, and those
// come back as new pods with new names and uids; what they share with the
// pods they replace is their namespace and controller. The first pod of
// that controller to bind to the claim's node takes the hold; any other pod
// sees the room as taken.
type Hold struct {
	Namespace string `json:"namespace"`
	// Owner is the uid of the controller of the displaced pod.
	Owner types.UID `json:"owner"`
	// For is the displaced pod's name, for the record.
	For      string              `json:"for"`
	Requests corev1.ResourceList `json:"requests"`
}

// Claimant is a pod asking for room: its own reservation, and one hold of
// its controller in its namespace, are its to use.
type Claimant struct {
	UID       types.UID
	Namespace string
	// Owner is the uid of the pod's controller, "" for a pod with none.
	Owner types.UID
}

// keptFor reports whether the hold is the claimant's to take.
func (h Hold) keptFor(c Claimant) bool {
	return c.Owner != "" && h.Owner == c.Owner && h.Namespace == c.Namespace
}

// EncodeHolds spells holds for HoldAnnotation.
func EncodeHolds(holds []Hold) (string, error) {
	raw, err := json.Marshal(holds)
	if err != nil {
		return "", fmt.Errorf("encoding holds: %w", err)
	}
	return string(raw), nil
}

// DecodeHolds reads HoldAnnotation; an empty value is no holds.
func DecodeHolds(value string) ([]Hold, error) {
	if value == "" {
		return nil, nil
	}
	var holds []Hold
	if err := json.Unmarshal([]byte(value), &holds); err != nil {
		return nil, fmt.Errorf("reading annotation %s: %w", HoldAnnotation, err)
	}
	return holds, nil
}

// Hold keeps room on a claim for pods controllers will make. A claim
// forgotten or being withdrawn takes none: ErrClaimGone. Holding again what
// a claim holds already adds nothing, so a resync may adopt a claim's
// annotation twice.
func (l *Ledger) Hold(claimName string, holds ...Hold) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, gone := l.gone[claimName]; gone {
		return fmt.Errorf("holding room on NodeClaim %s: %w", claimName, ErrClaimGone)
	}
	if c, ok := l.claims[claimName]; ok && c.withdrawing {
		return fmt.Errorf("holding room on NodeClaim %s: %w", claimName, ErrClaimGone)
	}
	c := l.claimLocked(claimName)
	for _, h := range holds {
		if !c.holdsFor(h) {
			c.holds = append(c.holds, h)
		}
	}
	return nil
}

func (c *claim) holdsFor(h Hold) bool {
	for _, have := range c.holds {
		if have.Namespace == h.Namespace && have.Owner == h.Owner && have.For == h.For {
			return true
		}
	}
	return false
}

// Holds lists the holds on a claim.
func (l *Ledger) Holds(claimName string) []Hold {
	l.mu.RLock()
	defer l.mu.RUnlock()
	c, ok := l.claims[claimName]
	if !ok {
		return nil
	}
	return append([]Hold(nil), c.holds...)
}

// HeldFor reports whether a claim holds room for the claimant's controller.
func (l *Ledger) HeldFor(claimName string, who Claimant) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	c, ok := l.claims[claimName]
	return ok && c.holdIndex(who) >= 0
}

func (c *claim) holdIndex(who Claimant) int {
	for i, h := range c.holds {
		if h.keptFor(who) {
			return i
		}
	}
	return -1
}

// TakeHold gives the claimant one hold of its controller on a claim: it
// binds to the claim's node, and now occupies the room. False when the
// claim holds nothing for it.
func (l *Ledger) TakeHold(claimName string, who Claimant) (Hold, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.claims[claimName]
	if !ok {
		return Hold{}, false
	}
	i := c.holdIndex(who)
	if i < 0 {
		return Hold{}, false
	}
	h := c.holds[i]
	c.holds = append(c.holds[:i], c.holds[i+1:]...)
	c.consumed++
	return h, true
}

// ReturnHold puts back a hold a failed binding took; nothing when the claim
// is gone or being withdrawn meanwhile.
func (l *Ledger) ReturnHold(claimName string, h Hold) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.claims[claimName]
	if !ok {
		return
	}
	if c.consumed > 0 {
		c.consumed--
	}
	if c.withdrawing {
		return
	}
	c.holds = append(c.holds, h)
}

// HoldToReservation turns a hold on a claim for the claimant's controller
// into a reservation for the pod itself, when the pod is provided for
// while the claim is still launching: from then on the pod waits for the
// claim as the pods it was bought for do. False when the claim holds
// nothing for it.
func (l *Ledger) HoldToReservation(claimName string, who Claimant, p Pod) (Reservation, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.claims[claimName]
	if !ok || c.withdrawing {
		return Reservation{}, false
	}
	i := c.holdIndex(who)
	if i < 0 {
		return Reservation{}, false
	}
	h := c.holds[i]
	c.holds = append(c.holds[:i], c.holds[i+1:]...)
	r := Reservation{Pod: p, Claim: claimName, Requests: h.Requests}
	l.dropLocked(p.UID)
	l.byPod[p.UID] = &r
	c.pods[p.UID] = &r
	return r, true
}

// HoldingFor lists the claims that hold room for the claimant's
// controller, by name.
func (l *Ledger) HoldingFor(who Claimant) []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []string
	for name, c := range l.claims {
		if !c.withdrawing && c.holdIndex(who) >= 0 {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// DropHolds releases the holds of a claim that keep returns false for, and
// returns how many it released.
func (l *Ledger) DropHolds(claimName string, keep func(Hold) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.claims[claimName]
	if !ok {
		return 0
	}
	kept := c.holds[:0]
	for _, h := range c.holds {
		if keep(h) {
			kept = append(kept, h)
		}
	}
	dropped := len(c.holds) - len(kept)
	c.holds = kept
	return dropped
}
