package tailor

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/tailor-project/tailor/plugin/gang"
)

// Event reasons on the pods of a gang (plugin/gang).
const (
	// ReasonWaitingForGang: the gang has fewer than minMember pods pending
	// or provided for; nothing is bought until it has.
	ReasonWaitingForGang = "WaitingForGang"
)

// nodeComing reports whether an unbound pod has a node coming: room held
// on a NodeClaim, or a node chosen while it waits at Permit for its gang.
func (t *Tailor) nodeComing(p *corev1.Pod) bool {
	if _, ok := t.ledger.Of(p.UID); ok {
		return true
	}
	return t.handle.GetWaitingPod(p.UID) != nil
}

// gangsShort reports whether some gang among pods needs more pods before
// capacity can be bought for it; the batcher then waits for them.
func (t *Tailor) gangsShort(pods []*corev1.Pod) bool {
	for _, p := range pods {
		if _, ok := gang.KeyOf(p); ok {
			return t.gangs.Split(context.Background(), pods).AnyShort()
		}
	}
	return false
}

// splitGangs takes out of a batch the pods that cannot be provided for yet
// as gangs: those of a PodGroup that cannot be read, and those of a gang
// short of minMember pods, each told why and retried later. It returns the
// pods to solve, and the gangs among them.
func (t *Tailor) splitGangs(ctx context.Context, pods []*corev1.Pod) ([]*corev1.Pod, []*gang.Gang) {
	b := t.gangs.Split(ctx, pods)
	if len(b.Gangs) == 0 && len(b.Unknown) == 0 {
		return pods, nil
	}
	for p, err := range b.Unknown {
		t.cannotProvision(ctx, p, err)
	}
	out := b.Plain
	var whole []*gang.Gang
	for _, g := range b.Gangs {
		if at, ok := t.gangBackingOff(g.Key); ok {
			msg := fmt.Sprintf("gang %s timed out waiting for its pods to start; capacity is bought for it again after %s", g, at.UTC().Format(time.RFC3339))
			for _, p := range g.Pending {
				t.retries.queue.AddAfter(refOf(p), time.Until(at))
				t.explain(p, corev1.EventTypeNormal, ReasonWaitingForGang, msg)
			}
			continue
		}
		if short := g.Short(); short > 0 {
			msg := fmt.Sprintf("gang %s has %d of its minMember %d pods pending or provided for; capacity is bought for all of them at once, when the other %d exist",
				g, g.MinMember-short, g.MinMember, short)
			klog.FromContext(ctx).V(2).Info("Gang waits for its pods", "podGroup", g.String(), "short", short)
			t.waitForGang(ctx, g.Pending, msg)
			continue
		}
		whole = append(whole, g)
		out = append(out, g.Pending...)
	}
	return out, whole
}

// waitForGang tells a gang's pods why they wait and brings them back in a
// later batch, with backoff, in case no sibling's arrival does.
func (t *Tailor) waitForGang(ctx context.Context, pods []*corev1.Pod, msg string) {
	for _, p := range pods {
		ref := refOf(p)
		t.retries.queue.AddAfter(ref, t.retries.limiter.When(ref))
		t.explain(p, corev1.EventTypeNormal, ReasonWaitingForGang, msg)
	}
}

// gangNotPlaced tells every pending pod of a gang the solve could not place
// whole that nothing was bought for any of them, and why.
func (t *Tailor) gangNotPlaced(ctx context.Context, g *gang.Gang, why error) {
	err := fmt.Errorf("gang %s cannot start: %d of its pods need new capacity and not all of them can be placed (%w); nothing is bought for any of them",
		g, len(g.Pending), why)
	for _, p := range g.Pending {
		t.cannotProvision(ctx, p, err)
	}
}
