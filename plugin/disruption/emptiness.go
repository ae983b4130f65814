package disruption

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	pluginmetrics "github.com/tailor-project/tailor/plugin/metrics"
)

// ReasonDisrupting is the event reason on a NodeClaim taken away.
const ReasonDisrupting = "Disrupting"

// Reservations tells how many pods still wait for a claim's node.
type Reservations interface {
	Pending(claim string) int
}

// Emptiness removes empty nodes; see the package doc.
type Emptiness struct {
	// Objects reads NodePools and NodeClaims; Client deletes NodeClaims.
	Objects      client.Reader
	Client       client.Writer
	Pods         corelisters.PodLister
	Nodes        corelisters.NodeLister
	Reservations Reservations
	Recorder     events.EventRecorder
	Clock        clock.PassiveClock

	// emptySince is when each claim's node was first seen empty. It starts
	// over when the scheduler restarts, which can only delay a removal.
	emptySince map[string]time.Time
	// blocked remembers the claims a budget held back, to say so once.
	blocked map[string]bool
}

// Reconcile looks at every pool's nodes once and removes those that have
// been empty for long enough, as far as the budgets allow.
func (e *Emptiness) Reconcile(ctx context.Context) error {
	pools, err := e.decide(ctx)
	if err != nil {
		return err
	}
	for _, p := range pools {
		if err := e.act(ctx, p); err != nil {
			klog.FromContext(ctx).Error(err, "Removing empty nodes", "nodePool", p.pool.Name)
		}
	}
	return nil
}

// emptyPool is what a pass decides for one pool's empty nodes.
type emptyPool struct {
	pool *karpv1.NodePool
	// due are the claims empty for the pool's consolidateAfter, the longest
	// empty first; the first budget of them go.
	due        []emptyNode
	budget     int
	disrupting int
	// err says why none go: the budgets cannot be read.
	err error
	// now is when the pass decided.
	now time.Time
}

type emptyNode struct {
	claim *karpv1.NodeClaim
	since time.Time
}

// decide finds, pool by pool, the nodes empty for long enough and how many
// of them the budgets let go; it changes nothing but what it remembers of
// when each node was first seen empty.
func (e *Emptiness) decide(ctx context.Context) ([]*emptyPool, error) {
	if e.emptySince == nil {
		e.emptySince, e.blocked = map[string]time.Time{}, map[string]bool{}
	}
	var pools karpv1.NodePoolList
	if err := e.Objects.List(ctx, &pools); err != nil {
		return nil, fmt.Errorf("listing NodePools: %w", err)
	}
	var claims karpv1.NodeClaimList
	if err := e.Objects.List(ctx, &claims); err != nil {
		return nil, fmt.Errorf("listing NodeClaims: %w", err)
	}
	pods, err := e.Pods.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	onNode := map[string][]*corev1.Pod{}
	for _, p := range pods {
		if p.Spec.NodeName != "" {
			onNode[p.Spec.NodeName] = append(onNode[p.Spec.NodeName], p)
		}
	}
	byPool := map[string][]*karpv1.NodeClaim{}
	for i := range claims.Items {
		nc := &claims.Items[i]
		byPool[nc.Labels[wellknown.NodePoolLabel]] = append(byPool[nc.Labels[wellknown.NodePoolLabel]], nc)
	}
	seen := map[string]bool{}
	// A replacement's node is empty until the node it replaces is drained:
	// it is not for emptiness to take while that node is still there.
	for i := range claims.Items {
		for _, old := range replacedBy(&claims.Items[i]) {
			for j := range claims.Items {
				if claims.Items[j].Name == old {
					seen[claims.Items[i].Name] = true
				}
			}
		}
	}
	waiting := make(map[string]bool, len(seen))
	for name := range seen {
		waiting[name] = true
	}
	var out []*emptyPool
	for i := range pools.Items {
		if p := e.pool(ctx, &pools.Items[i], byPool[pools.Items[i].Name], onNode, seen, waiting); p != nil {
			out = append(out, p)
		}
	}
	for name := range e.emptySince {
		if !seen[name] {
			delete(e.emptySince, name)
			delete(e.blocked, name)
		}
	}
	return out, nil
}

// pool decides for one pool; nil when none of its nodes is due.
func (e *Emptiness) pool(ctx context.Context, np *karpv1.NodePool, claims []*karpv1.NodeClaim, onNode map[string][]*corev1.Pod, seen, waiting map[string]bool) *emptyPool {
	logger := klog.FromContext(ctx).WithValues("nodePool", np.Name)
	after := np.Spec.Disruption.ConsolidateAfter
	now := e.Clock.Now()
	p := &emptyPool{pool: np, now: now}
	for _, nc := range claims {
		if nc.DeletionTimestamp != nil {
			p.disrupting++
			continue
		}
		if nc.Status.NodeName == "" || waiting[nc.Name] || !e.empty(nc, onNode[nc.Status.NodeName]) {
			continue
		}
		seen[nc.Name] = true
		since, ok := e.emptySince[nc.Name]
		if !ok {
			since = now
			e.emptySince[nc.Name] = now
			logger.V(2).Info("Node is empty", "nodeClaim", nc.Name, "node", nc.Status.NodeName, "consolidateAfter", after.String())
		}
		if after.IsNever() || now.Sub(since) < *after.Duration {
			continue
		}
		p.due = append(p.due, emptyNode{nc, since})
	}
	if len(p.due) == 0 {
		return nil
	}
	budget, err := allowed(np, karpv1.DisruptionReasonEmpty, len(claims), now)
	if err != nil {
		p.err = err
		return p
	}
	p.budget = budget - p.disrupting
	sort.Slice(p.due, func(i, j int) bool { return p.due[i].since.Before(p.due[j].since) })
	return p
}

// act removes the pool's due nodes the budget lets go and tells the others
// why they stay.
func (e *Emptiness) act(ctx context.Context, p *emptyPool) error {
	if p.err != nil {
		return p.err
	}
	logger := klog.FromContext(ctx).WithValues("nodePool", p.pool.Name)
	for i, c := range p.due {
		if i >= p.budget {
			if !e.blocked[c.claim.Name] {
				e.blocked[c.claim.Name] = true
				logger.Info("Empty node kept: the pool's disruption budget allows no more now", "nodeClaim", c.claim.Name, "disrupting", p.disrupting)
				e.Recorder.Eventf(c.claim, nil, corev1.EventTypeNormal, "DisruptionBlocked", "Disrupting", "%s", emptyBlocked(p.pool, c.since))
			}
			continue
		}
		if err := e.Client.Delete(ctx, c.claim, client.Preconditions{UID: &c.claim.UID}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting empty NodeClaim %s: %w", c.claim.Name, err)
		}
		delete(e.emptySince, c.claim.Name)
		pluginmetrics.Decided(false, pluginmetrics.ReasonEmpty, "empty")
		pluginmetrics.NodeClaimDisrupted(pluginmetrics.ReasonEmpty, c.claim, p.pool)
		msg := emptyFor(p.pool, c.since, p.now)
		logger.Info("Removing an empty node", "nodeClaim", c.claim.Name, "node", c.claim.Status.NodeName, "reason", msg)
		e.Recorder.Eventf(c.claim, nil, corev1.EventTypeNormal, ReasonDisrupting, "Disrupting", "%s", msg)
	}
	return nil
}

// emptyFor is why an empty node goes.
func emptyFor(np *karpv1.NodePool, since, now time.Time) string {
	return fmt.Sprintf("Empty for %s, longer than NodePool %s's consolidateAfter of %s", now.Sub(since).Round(time.Second), np.Name, np.Spec.Disruption.ConsolidateAfter.String())
}

// emptyBlocked is why an empty node due to go stays.
func emptyBlocked(np *karpv1.NodePool, since time.Time) string {
	return fmt.Sprintf("Empty since %s but NodePool %s's disruption budget allows no more nodes to go now", since.UTC().Format(time.RFC3339), np.Name)
}

// empty: no pod on the node but DaemonSet and mirror pods, none that asks
// not to be disrupted, and no pod still on its way to it.
func (e *Emptiness) empty(nc *karpv1.NodeClaim, pods []*corev1.Pod) bool {
	if nc.Annotations[wellknown.DoNotDisruptAnnotation] == "true" {
		return false
	}
	if node, err := e.Nodes.Get(nc.Status.NodeName); err != nil || node.Annotations[wellknown.DoNotDisruptAnnotation] == "true" {
		return false
	}
	if e.Reservations != nil && e.Reservations.Pending(nc.Name) > 0 {
		return false
	}
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if p.Annotations[wellknown.DoNotDisruptAnnotation] == "true" {
			return false
		}
		if isDaemon(p) {
			continue
		}
		return false
	}
	return true
}

func isDaemon(p *corev1.Pod) bool {
	if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return true
	}
	for _, ref := range p.OwnerReferences {
		if ref.Controller != nil && *ref.Controller && ref.Kind == "DaemonSet" {
			return true
		}
	}
	return false
}
