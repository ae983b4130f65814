package reservation

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
)

// Pod identifies a pod a reservation is for.
type Pod struct {
	UID       types.UID `json:"uid"`
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	// Since is when the pod was reserved on the claim. A pod that lost its
	// room on one claim and was provided for again appears in the
	// annotations of both; the later reservation is the one that holds.
	Since time.Time `json:"since,omitzero"`
}

// Reservation is room on a claim promised to one pod.
type Reservation struct {
	Pod      Pod
	Claim    string
	Requests corev1.ResourceList
}

// ErrClaimGone refuses a reservation on a claim that was forgotten (deleted,
// failed or withdrawn) or is being withdrawn: room on it would be promised
// by a claim that will never become a node.
var ErrClaimGone = errors.New("the NodeClaim is gone or being withdrawn")

type claim struct {
	name       string
	node       string
	providerID string
	// pods still waiting to bind, by uid.
	pods map[types.UID]*Reservation
	// holds is room kept for pods controllers will make (hold.go).
	holds []Hold
	// consumed counts the pods that bound to the claim's node.
	consumed int
	// withdrawing: the claim is being deleted because nobody needs it; no
	// pod may be reserved on it until the withdrawal is settled.
	withdrawing bool
}

func (c *claim) unused() bool { return len(c.pods) == 0 && len(c.holds) == 0 && c.consumed == 0 }

// Ledger is every reservation of the scheduler. It is safe for concurrent
// use: the batcher writes while scheduling cycles read.
//
// Its invariants, which ledger_property_test.go checks on random histories:
// a pod holds at most one reservation; every reservation is on a claim the
// ledger knows and has not forgotten; a forgotten claim never comes back.
type Ledger struct {
	mu     sync.RWMutex
	byPod  map[types.UID]*Reservation
	claims map[string]*claim
	nodes  map[string]string // node name -> claim name
	// providers maps instance ids to claims: a node is known by its
	// provider id from the moment it registers, before the launcher has
	// written the node's name on the claim.
	providers map[string]string
	// gone remembers the claims forgotten, with when, so that a late
	// Restore, Reserve or resync cannot bring one back. Claim names carry a
	// random suffix and are not reused; entries are pruned after goneTTL.
	gone map[string]time.Time
	now  func() time.Time
}

// goneTTL is how long a forgotten claim is remembered: far longer than any
// scheduling cycle or batch that could still name it.
const goneTTL = time.Hour

// New returns an empty ledger.
func New() *Ledger {
	return &Ledger{
		byPod: map[types.UID]*Reservation{}, claims: map[string]*claim{}, nodes: map[string]string{},
		providers: map[string]string{}, gone: map[string]time.Time{}, now: time.Now,
	}
}

// SetProviderID records the instance a claim launched.
func (l *Ledger) SetProviderID(claimName, providerID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.claims[claimName]
	if !ok || c.providerID == providerID {
		return
	}
	if c.providerID != "" {
		delete(l.providers, c.providerID)
	}
	c.providerID = providerID
	if providerID != "" {
		l.providers[providerID] = claimName
	}
}

// ClaimOf returns the claim a node was bought as, by its name or, before
// the claim names its node, by its provider id; false for other nodes.
func (l *Ledger) ClaimOf(nodeName, providerID string) (string, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if c, ok := l.nodes[nodeName]; ok {
		return c, true
	}
	if providerID == "" {
		return "", false
	}
	c, ok := l.providers[providerID]
	return c, ok
}

// Reserve records that claimName was bought for these pods. A pod that held
// a reservation elsewhere moves here. A claim forgotten or being withdrawn
// takes no reservation: ErrClaimGone.
func (l *Ledger) Reserve(claimName string, reservations ...Reservation) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, gone := l.gone[claimName]; gone {
		return fmt.Errorf("reserving on NodeClaim %s: %w", claimName, ErrClaimGone)
	}
	if c, ok := l.claims[claimName]; ok && c.withdrawing {
		return fmt.Errorf("reserving on NodeClaim %s: %w", claimName, ErrClaimGone)
	}
	c := l.claimLocked(claimName)
	for i := range reservations {
		r := reservations[i]
		r.Claim = claimName
		l.dropLocked(r.Pod.UID)
		l.byPod[r.Pod.UID] = &r
		c.pods[r.Pod.UID] = &r
	}
	return nil
}

// Track makes the ledger know a claim with no reservation yet, so its node
// is recognised; a forgotten claim is not tracked again.
func (l *Ledger) Track(claimName string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, gone := l.gone[claimName]; !gone {
		l.claimLocked(claimName)
	}
}

// dropLocked removes a pod's reservation wherever it is.
func (l *Ledger) dropLocked(uid types.UID) {
	if old, ok := l.byPod[uid]; ok {
		if c, ok := l.claims[old.Claim]; ok {
			delete(c.pods, uid)
		}
		delete(l.byPod, uid)
	}
}

func (l *Ledger) claimLocked(name string) *claim {
	c, ok := l.claims[name]
	if !ok {
		c = &claim{name: name, pods: map[types.UID]*Reservation{}}
		l.claims[name] = c
	}
	return c
}

// Of returns the reservation of a pod, false if it has none.
func (l *Ledger) Of(uid types.UID) (Reservation, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	r, ok := l.byPod[uid]
	if !ok {
		return Reservation{}, false
	}
	return *r, true
}

// SetNode records the node a claim became, once it registered.
func (l *Ledger) SetNode(claimName, nodeName string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.claims[claimName]
	if !ok || c.node == nodeName {
		return
	}
	if c.node != "" {
		delete(l.nodes, c.node)
	}
	c.node = nodeName
	if nodeName != "" {
		l.nodes[nodeName] = claimName
	}
}

// NodeOf returns the node a claim became, "" while it has not registered.
func (l *Ledger) NodeOf(claimName string) string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if c, ok := l.claims[claimName]; ok {
		return c.node
	}
	return ""
}

// ReservedOn sums the room promised on a claim's node to others than the
// claimant: the pods that still wait to bind there, but the claimant, and
// the holds, but one of the claimant's controller. A zero Claimant leaves
// nothing out. ok is false for a claim that promises nothing.
func (l *Ledger) ReservedOn(claimName string, except Claimant) (corev1.ResourceList, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	c, ok := l.claims[claimName]
	if !ok || len(c.pods)+len(c.holds) == 0 {
		return nil, false
	}
	sum := corev1.ResourceList{}
	count := func(requests corev1.ResourceList) {
		for n, q := range requests {
			total := sum[n]
			total.Add(q)
			sum[n] = total
		}
		pods := sum[corev1.ResourcePods]
		pods.Add(*resource.NewQuantity(1, resource.DecimalSI))
		sum[corev1.ResourcePods] = pods
	}
	for uid, r := range c.pods {
		if except.UID == "" || uid != except.UID {
			count(r.Requests)
		}
	}
	skip := c.holdIndex(except)
	for i, h := range c.holds {
		if i != skip {
			count(h.Requests)
		}
	}
	return sum, true
}

// Release drops a pod's reservation: it bound elsewhere, or it is gone.
// It returns the claim and whether no pod is left waiting for it and none
// bound to it: a claim bought for nothing.
func (l *Ledger) Release(uid types.UID) (claimName string, unused bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.byPod[uid]
	if !ok {
		return "", false
	}
	delete(l.byPod, uid)
	c := l.claims[r.Claim]
	delete(c.pods, uid)
	return r.Claim, c.unused()
}

// Consume marks a pod's reservation as used: it binds to its claim's node.
// The room is no longer promised, the pod now occupies it.
func (l *Ledger) Consume(uid types.UID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.byPod[uid]
	if !ok {
		return
	}
	delete(l.byPod, uid)
	c := l.claims[r.Claim]
	delete(c.pods, uid)
	c.consumed++
}

// Restore puts back a reservation a failed binding consumed or released. It
// returns false, and restores nothing, when the claim was forgotten or is
// being withdrawn meanwhile, or the pod was provided for again: the pod is
// then decided anew instead of waiting on a claim that will not come.
func (l *Ledger) Restore(r Reservation, consumed bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.claims[r.Claim]
	if consumed && ok && c.consumed > 0 {
		c.consumed--
	}
	if _, gone := l.gone[r.Claim]; gone || !ok || c.withdrawing {
		return false
	}
	if _, again := l.byPod[r.Pod.UID]; again {
		return false
	}
	l.byPod[r.Pod.UID] = &r
	c.pods[r.Pod.UID] = &r
	return true
}

// BeginWithdraw marks an unused claim as being withdrawn, so no reservation
// lands on it while it is deleted; false when a pod still waits for it or
// bound to it, or it is not known.
func (l *Ledger) BeginWithdraw(claimName string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.claims[claimName]
	if !ok || c.withdrawing || !c.unused() {
		return false
	}
	c.withdrawing = true
	return true
}

// EndWithdraw settles a withdrawal: a claim deleted is forgotten for good; a
// claim that could not be deleted (it launched meanwhile) takes
// reservations again.
func (l *Ledger) EndWithdraw(claimName string, deleted bool) {
	if deleted {
		l.Forget(claimName)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.claims[claimName]; ok {
		c.withdrawing = false
	}
}

// Unused reports whether the ledger knows a claim that no pod waits for and
// none bound to.
func (l *Ledger) Unused(claimName string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	c, ok := l.claims[claimName]
	return ok && !c.withdrawing && c.unused()
}

// Withdrawing reports whether a claim is being withdrawn or was forgotten:
// either way it offers no room.
func (l *Ledger) Withdrawing(claimName string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if _, gone := l.gone[claimName]; gone {
		return true
	}
	c, ok := l.claims[claimName]
	return ok && c.withdrawing
}

// Forget drops a claim and every reservation on it: the claim was deleted
// or failed. It returns the pods that were waiting for it. The claim is
// remembered as gone: nothing brings it back.
func (l *Ledger) Forget(claimName string) []Pod {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if _, gone := l.gone[claimName]; !gone {
		l.gone[claimName] = now
		l.pruneGoneLocked(now)
	}
	c, ok := l.claims[claimName]
	if !ok {
		return nil
	}
	pods := make([]Pod, 0, len(c.pods))
	for uid, r := range c.pods {
		pods = append(pods, r.Pod)
		delete(l.byPod, uid)
	}
	if c.node != "" {
		delete(l.nodes, c.node)
	}
	if c.providerID != "" {
		delete(l.providers, c.providerID)
	}
	delete(l.claims, claimName)
	sort.Slice(pods, func(i, j int) bool { return pods[i].UID < pods[j].UID })
	return pods
}

func (l *Ledger) pruneGoneLocked(now time.Time) {
	for name, at := range l.gone {
		if now.Sub(at) > goneTTL {
			delete(l.gone, name)
		}
	}
}

// Gone reports whether a claim was forgotten.
func (l *Ledger) Gone(claimName string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	_, gone := l.gone[claimName]
	return gone
}

// Waiting lists the pods waiting for a claim.
func (l *Ledger) Waiting(claimName string) []Reservation {
	l.mu.RLock()
	defer l.mu.RUnlock()
	c, ok := l.claims[claimName]
	if !ok {
		return nil
	}
	out := make([]Reservation, 0, len(c.pods))
	for _, r := range c.pods {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pod.UID < out[j].Pod.UID })
	return out
}

// All lists every reservation, by pod uid.
func (l *Ledger) All() []Reservation {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]Reservation, 0, len(l.byPod))
	for _, r := range l.byPod {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pod.UID < out[j].Pod.UID })
	return out
}

// Pending counts the pods waiting for a claim, and the room it holds for
// pods to come.
func (l *Ledger) Pending(claimName string) int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if c, ok := l.claims[claimName]; ok {
		return len(c.pods) + len(c.holds)
	}
	return 0
}

// Claims lists the claims the ledger knows.
func (l *Ledger) Claims() []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]string, 0, len(l.claims))
	for name := range l.claims {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Check verifies the ledger's invariants and returns the first broken one;
// the property test calls it after every step.
func (l *Ledger) Check() error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	seen := map[types.UID]string{}
	for name, c := range l.claims {
		if _, gone := l.gone[name]; gone {
			return fmt.Errorf("claim %s is both known and forgotten", name)
		}
		for uid, r := range c.pods {
			if other, twice := seen[uid]; twice {
				return fmt.Errorf("pod %s is reserved on both %s and %s", uid, other, name)
			}
			seen[uid] = name
			if r.Claim != name {
				return fmt.Errorf("pod %s is held by %s but its reservation names %s", uid, name, r.Claim)
			}
			if l.byPod[uid] != r {
				return fmt.Errorf("pod %s on %s is not its indexed reservation", uid, name)
			}
		}
		if c.withdrawing && len(c.pods)+len(c.holds) > 0 {
			return fmt.Errorf("claim %s is being withdrawn with %d pods waiting and %d holds", name, len(c.pods), len(c.holds))
		}
	}
	if len(seen) != len(l.byPod) {
		return fmt.Errorf("%d reservations indexed by pod, %d held by claims", len(l.byPod), len(seen))
	}
	return nil
}
