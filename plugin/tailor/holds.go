package tailor

import (
	"context"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/plugin/disruption"
	"github.com/tailor-project/tailor/plugin/reservation"
)

// A replacement claim holds room for the controllers of the pods it was
// bought for (reservation.Hold, written by Launch). The pods come back
// as new pods once their node is drained:
//
//   - on the replacement's node, Filter lets a pod of a holding controller
//     use the held room and keeps every other pod off it, Score steers the
//     pod there, and Reserve hands it the hold;
//   - while the replacement is still launching, the batch turns the hold
//     into a reservation for the pod (takeHolds), so the pod waits for it
//     as the pods a claim was bought for do, and nothing is bought twice;
//   - resync releases holds nobody will take (releaseHolds): the nodes
//     replaced are gone and no pod of the controller is pending.

// takeHolds reserves, for each pod of the batch whose controller a claim
// holds room for, that room, and returns the other pods: those the batch
// must still solve for.
func (t *Tailor) takeHolds(ctx context.Context, pods []*corev1.Pod) []*corev1.Pod {
	var rest []*corev1.Pod
	byClaim := map[string][]*corev1.Pod{}
	taken := map[string]int{}
	for _, p := range pods {
		who := claimantOf(p)
		claim := ""
		if who.Owner != "" {
			for _, name := range t.ledger.HoldingFor(who) {
				// Several pods of one controller may come back at once: each
				// takes a hold of its own.
				if t.heldCount(name, who) > taken[name+"/"+string(who.Owner)] {
					claim = name
					break
				}
			}
		}
		if claim == "" {
			rest = append(rest, p)
			continue
		}
		taken[claim+"/"+string(who.Owner)]++
		byClaim[claim] = append(byClaim[claim], p)
	}
	for _, claim := range sortedKeys(byClaim) {
		held := byClaim[claim]
		if err := t.join(ctx, claim, held); err != nil {
			klog.FromContext(ctx).V(2).Info("Room held on a replacement could not be reserved; solving for the pods", "nodeClaim", claim, "err", err.Error())
			rest = append(rest, held...)
			continue
		}
		klog.FromContext(ctx).V(2).Info("Displaced pods take the room held for them", "nodeClaim", claim, "pods", len(held))
	}
	return rest
}

// heldCount counts a claim's holds for the claimant's controller.
func (t *Tailor) heldCount(claim string, who reservation.Claimant) int {
	n := 0
	for _, h := range t.ledger.Holds(claim) {
		if h.Namespace == who.Namespace && h.Owner == who.Owner {
			n++
		}
	}
	return n
}

// reserveOn reserves room on a claim for pods, each from a hold of its
// controller when the claim has one, so held room is not promised twice.
func (t *Tailor) reserveOn(claim string, pods []*corev1.Pod, since time.Time) error {
	var plain []*corev1.Pod
	for _, p := range pods {
		r := reservation.Pod{UID: p.UID, Namespace: p.Namespace, Name: p.Name, Since: since}
		if _, ok := t.ledger.HoldToReservation(claim, claimantOf(p), r); !ok {
			plain = append(plain, p)
		}
	}
	if len(plain) == 0 {
		return nil
	}
	return t.ledger.Reserve(claim, reservationsOf(plain, since)...)
}

// adoptHolds holds again, after a restart or on a standby, the room a
// replacement claim records.
func (t *Tailor) adoptHolds(ctx context.Context, nc *karpv1.NodeClaim) {
	holds, err := reservation.DecodeHolds(nc.Annotations[reservation.HoldAnnotation])
	if err != nil {
		klog.FromContext(ctx).Error(err, "Skipping the room held on a NodeClaim", "nodeClaim", nc.Name)
		return
	}
	if len(holds) == 0 || !t.firstHold(nc.Name) {
		return
	}
	if err := t.ledger.Hold(nc.Name, holds...); err != nil {
		klog.FromContext(ctx).V(2).Info("Not holding room on a NodeClaim that is gone", "nodeClaim", nc.Name)
	}
}

// firstHold reports whether this replica holds room on the claim for the
// first time, and remembers it did: holds taken or released are not
// adopted again from the claim's annotation.
func (t *Tailor) firstHold(claim string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.heldOn[claim] {
		return false
	}
	t.heldOn[claim] = true
	return true
}

// releaseHolds releases the holds no pod will take: once none of the claims
// a replacement replaces exists, a hold stays only while a pod of its
// controller is pending in its namespace.
func (t *Tailor) releaseHolds(ctx context.Context, claims []karpv1.NodeClaim) {
	exists := make(map[string]bool, len(claims))
	for i := range claims {
		exists[claims[i].Name] = true
	}
	var pending map[string]bool
	for i := range claims {
		nc := &claims[i]
		if len(t.ledger.Holds(nc.Name)) == 0 || replacing(nc, exists) {
			continue
		}
		if pending == nil {
			pending = t.pendingControllers()
		}
		dropped := t.ledger.DropHolds(nc.Name, func(h reservation.Hold) bool {
			return pending[h.Namespace+"/"+string(h.Owner)]
		})
		if dropped > 0 {
			klog.FromContext(ctx).V(2).Info("Room held for displaced pods released: they run elsewhere or are gone", "nodeClaim", nc.Name, "holds", dropped)
		}
	}
}

// replacing reports whether a claim still replaces claims that exist.
func replacing(nc *karpv1.NodeClaim, exists map[string]bool) bool {
	for _, old := range strings.Split(nc.Annotations[disruption.ReplacementForAnnotation], ",") {
		if old != "" && exists[old] {
			return true
		}
	}
	return false
}

// pendingControllers are the controllers, as namespace/uid, with a pod
// waiting for a node.
func (t *Tailor) pendingControllers() map[string]bool {
	out := map[string]bool{}
	pods, err := t.handle.SharedInformerFactory().Core().V1().Pods().Lister().List(labels.Everything())
	if err != nil {
		return out
	}
	for _, p := range pods {
		if p.Spec.NodeName != "" || p.DeletionTimestamp != nil {
			continue
		}
		if ref := metav1.GetControllerOf(p); ref != nil {
			out[p.Namespace+"/"+string(ref.UID)] = true
		}
	}
	return out
}
