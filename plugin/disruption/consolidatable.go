package disruption

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// Reasons of the Consolidatable condition.
const (
	ReasonConsolidatable = "Consolidatable"
	ReasonPodsChanged    = "PodsChanged"
)

// Consolidatable keeps each launched claim's Consolidatable condition, as
// Karpenter does: True once no pod was added to or removed from its node
// for its pool's consolidateAfter, counted from when the node was
// initialized at the earliest, so a node just launched is not replaced
// within its first consolidateAfter. consolidateAfter Never keeps it off.
//
// The last change is tracked here, by a fingerprint of each node's pods, in
// memory: after a restart every node starts over, which only delays.
type Consolidatable struct {
	Env
	last map[string]podSet
	// state, when set, learns which claims are consolidatable this pass, so
	// the consolidation methods that follow need not wait for the cache to
	// see the conditions written.
	state *consolidationState
}

type podSet struct {
	fingerprint uint64
	since       time.Time
}

// Reconcile implements Method.
func (c *Consolidatable) Reconcile(ctx context.Context) error {
	if c.last == nil {
		c.last = map[string]podSet{}
	}
	var pools karpv1.NodePoolList
	if err := c.Objects.List(ctx, &pools); err != nil {
		return fmt.Errorf("listing NodePools: %w", err)
	}
	after := map[string]karpv1.NillableDuration{}
	for i := range pools.Items {
		after[pools.Items[i].Name] = pools.Items[i].Spec.Disruption.ConsolidateAfter
	}
	var claims karpv1.NodeClaimList
	if err := c.Objects.List(ctx, &claims); err != nil {
		return fmt.Errorf("listing NodeClaims: %w", err)
	}
	onNode, err := c.podsByNode()
	if err != nil {
		return err
	}
	now := c.Clock.Now()
	seen := map[string]bool{}
	settled := map[string]bool{}
	for i := range claims.Items {
		nc := &claims.Items[i]
		if nc.DeletionTimestamp != nil || nc.Status.NodeName == "" {
			continue
		}
		initialized := meta.FindStatusCondition(nc.Status.Conditions, karpv1.ConditionTypeInitialized)
		if initialized == nil || initialized.Status != metav1.ConditionTrue {
			continue
		}
		seen[nc.Name] = true
		fp := fingerprint(onNode[nc.Status.NodeName])
		last, ok := c.last[nc.Name]
		if !ok || last.fingerprint != fp {
			last = podSet{fingerprint: fp, since: now}
			c.last[nc.Name] = last
		}
		since := last.since
		if initialized.LastTransitionTime.After(since) {
			since = initialized.LastTransitionTime.Time
		}
		want := consolidatableCondition(after[nc.Labels[wellknown.NodePoolLabel]], since, now)
		settled[nc.Name] = want != nil
		if err := c.write(ctx, nc, want); err != nil {
			klog.FromContext(ctx).Error(err, "Writing the Consolidatable condition", "nodeClaim", nc.Name)
		}
	}
	for name := range c.last {
		if !seen[name] {
			delete(c.last, name)
		}
	}
	if c.state != nil {
		c.state.settled = settled
	}
	return nil
}

// consolidatableCondition is the condition a claim should carry, nil when
// none: its node changed too recently, or its pool never consolidates.
func consolidatableCondition(after karpv1.NillableDuration, since, now time.Time) *metav1.Condition {
	if after.IsNever() || after.Duration == nil || now.Sub(since) < *after.Duration {
		return nil
	}
	return &metav1.Condition{
		Type:               karpv1.ConditionTypeConsolidatable,
		Status:             metav1.ConditionTrue,
		Reason:             ReasonConsolidatable,
		Message:            fmt.Sprintf("No pod added or removed since %s, for longer than consolidateAfter %s", since.UTC().Format(time.RFC3339), after.String()),
		LastTransitionTime: metav1.NewTime(since.Add(*after.Duration)),
	}
}

// write brings the claim's condition to want, removing it when want is nil,
// and writes only on a change.
func (c *Consolidatable) write(ctx context.Context, nc *karpv1.NodeClaim, want *metav1.Condition) error {
	have := meta.FindStatusCondition(nc.Status.Conditions, karpv1.ConditionTypeConsolidatable)
	if want == nil && have == nil || want != nil && have != nil && have.Status == want.Status {
		return nil
	}
	patch := client.MergeFromWithOptions(nc.DeepCopy(), client.MergeFromWithOptimisticLock{})
	if want == nil {
		meta.RemoveStatusCondition(&nc.Status.Conditions, karpv1.ConditionTypeConsolidatable)
	} else {
		meta.SetStatusCondition(&nc.Status.Conditions, *want)
	}
	if err := c.Client.Status().Patch(ctx, nc, patch); err != nil {
		return client.IgnoreNotFound(err)
	}
	return nil
}

// fingerprint identifies the set of pods on a node that count for
// consolidation: DaemonSet and mirror pods come and go with the node, and
// finished pods hold nothing.
func fingerprint(pods []*corev1.Pod) uint64 {
	var uids []string
	for _, p := range pods {
		if Reschedulable(p) {
			uids = append(uids, string(p.UID))
		}
	}
	slices.Sort(uids)
	h := fnv.New64a()
	for _, u := range uids {
		h.Write([]byte(u))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// consolidatable reports whether a claim's node has settled: as this
// pass's Consolidatable method found, or else as its condition says.
func (s *consolidationState) consolidatable(nc *karpv1.NodeClaim) bool {
	if s.settled != nil {
		return s.settled[nc.Name]
	}
	return meta.IsStatusConditionTrue(nc.Status.Conditions, karpv1.ConditionTypeConsolidatable)
}
