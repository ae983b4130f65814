package reservation

import (
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
)

// Pod identifies a pod a reservation is for.
type Pod struct {
	UID       types.UID `json:"uid"`
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
}

// Reservation is room on a claim promised to one pod.
type Reservation struct {
	Pod      Pod
	Claim    string
	Requests corev1.ResourceList
}

type claim struct {
	name       string
	node       string
	providerID string
	// pods still waiting to bind, by uid.
	pods map[types.UID]*Reservation
	// consumed counts the pods that bound to the claim's node.
	consumed int
}

// Ledger is every reservation of the scheduler. It is safe for concurrent
// use: the batcher writes while scheduling cycles read.
type Ledger struct {
	mu     sync.RWMutex
	byPod  map[types.UID]*Reservation
	claims map[string]*claim
	nodes  map[string]string // node name -> claim name
	// providers maps instance ids to claims: a node is known by its
	// provider id from the moment it registers, before the launcher has
	// written the node's name on the claim.
	providers map[string]string
}

// New returns an empty ledger.
func New() *Ledger {
	return &Ledger{byPod: map[types.UID]*Reservation{}, claims: map[string]*claim{}, nodes: map[string]string{}, providers: map[string]string{}}
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
// a reservation elsewhere moves here.
func (l *Ledger) Reserve(claimName string, reservations ...Reservation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.claimLocked(claimName)
	for i := range reservations {
		r := reservations[i]
		r.Claim = claimName
		if old, ok := l.byPod[r.Pod.UID]; ok && old.Claim != claimName {
			delete(l.claims[old.Claim].pods, r.Pod.UID)
		}
		l.byPod[r.Pod.UID] = &r
		c.pods[r.Pod.UID] = &r
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

// ReservedOn sums the requests of the pods that still wait to bind to a
// claim's node, leaving out except; ok is false for a claim with no
// reservations.
func (l *Ledger) ReservedOn(claimName string, except types.UID) (corev1.ResourceList, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	c, ok := l.claims[claimName]
	if !ok {
		return nil, false
	}
	if len(c.pods) == 0 {
		return nil, false
	}
	sum := corev1.ResourceList{}
	for uid, r := range c.pods {
		if uid == except {
			continue
		}
		for n, q := range r.Requests {
			total := sum[n]
			total.Add(q)
			sum[n] = total
		}
		pods := sum[corev1.ResourcePods]
		pods.Add(*resource.NewQuantity(1, resource.DecimalSI))
		sum[corev1.ResourcePods] = pods
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
	return r.Claim, len(c.pods) == 0 && c.consumed == 0
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

// Restore puts back a reservation a failed binding consumed or released.
func (l *Ledger) Restore(r Reservation, consumed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.claimLocked(r.Claim)
	l.byPod[r.Pod.UID] = &r
	c.pods[r.Pod.UID] = &r
	if consumed && c.consumed > 0 {
		c.consumed--
	}
}

// Forget drops a claim and every reservation on it: the claim was deleted
// or failed. It returns the pods that were waiting for it.
func (l *Ledger) Forget(claimName string) []Pod {
	l.mu.Lock()
	defer l.mu.Unlock()
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

// Pending counts the pods waiting for a claim.
func (l *Ledger) Pending(claimName string) int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if c, ok := l.claims[claimName]; ok {
		return len(c.pods)
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
