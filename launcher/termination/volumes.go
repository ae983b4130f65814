package termination

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// DefaultDetachTimeout bounds the wait for volumes to detach from a drained
// node whose claim has no terminationGracePeriod. Karpenter waits without a
// bound there; Tailor does not, so that an attacher that never detaches
// cannot keep an instance running (and billed) forever. Five minutes is far
// more than an EBS detach takes once its pod has stopped.
const DefaultDetachTimeout = 5 * time.Minute

// detachPoll is how often a drained node's VolumeAttachments are looked at;
// their deletion brings the node back sooner.
const detachPoll = 2 * time.Second

// Reasons of the VolumesDetached condition, which are also the reasons of
// the events about the wait.
const (
	reasonAwaitingDetachment = "AwaitingVolumeDetachment"
	reasonDetached           = "VolumesDetached"
	reasonDetachTimedOut     = "VolumeDetachTimedOut"
)

// detachWaits remembers the waits of nodes without a claim, which have no
// condition to keep them in: by node UID, what was last said and since when
// the node waits. A restart forgets them, and such a node waits again.
type detachWaits struct {
	mu    sync.Mutex
	waits map[types.UID]detachWait
}

type detachWait struct {
	since   time.Time
	message string
	forced  bool
}

// awaitDetach reports whether the drained node's instance must wait for
// volumes to detach: while VolumeAttachments of volumes that the drained
// pods used are left (the attach-detach controller deletes them once the
// kubelet has unmounted), until the claim's termination deadline or, without
// one, DefaultDetachTimeout after the wait began. Terminating the instance
// sooner would leave the volumes to EC2's forced detach, and their pods'
// replacements waiting for them in the meantime. The claim's VolumesDetached
// condition says what is waited for, and each change is an event.
func (t *NodeTermination) awaitDetach(ctx context.Context, node *corev1.Node, claim *karpv1.NodeClaim, about client.Object, limit *time.Time) (bool, error) {
	last := t.lastWait(node, claim)
	if last.forced {
		// Given up on already; the instance is being terminated.
		return false, nil
	}
	pending, err := t.pendingAttachments(ctx, node)
	if err != nil {
		return false, err
	}
	now := t.Clock.Now()
	if len(pending) == 0 {
		if _, err := t.recordWait(ctx, node, claim, detachWait{}, metav1.ConditionTrue, reasonDetached, "no VolumeAttachments are left"); err != nil {
			return false, err
		}
		return false, nil
	}
	wait := detachWait{since: last.since, message: waitingMessage(pending)}
	if wait.since.IsZero() {
		wait.since = now
	}
	bound, why := limit, "the termination grace period has ended"
	if bound == nil {
		b := wait.since.Add(t.detachTimeout())
		bound, why = &b, fmt.Sprintf("they have not detached within %s", t.detachTimeout())
	}
	if now.Before(*bound) {
		changed, err := t.recordWait(ctx, node, claim, wait, metav1.ConditionUnknown, reasonAwaitingDetachment, wait.message)
		if err != nil {
			return false, err
		}
		if changed {
			t.Recorder.Eventf(about, corev1.EventTypeNormal, reasonAwaitingDetachment, "Node %s is drained; %s", node.Name, wait.message)
		}
		return true, nil
	}
	wait.forced = true
	message := fmt.Sprintf("terminating with %d VolumeAttachments left: %s", len(pending), why)
	changed, err := t.recordWait(ctx, node, claim, wait, metav1.ConditionFalse, reasonDetachTimedOut, message)
	if err != nil {
		return false, err
	}
	if changed {
		log.FromContext(ctx).Info("Terminating the instance of a node whose volumes have not detached",
			"node", node.Name, "volumes", attachedVolumes(pending), "reason", why)
		t.Recorder.Eventf(about, corev1.EventTypeWarning, reasonDetachTimedOut, "Node %s: %s (%s)", node.Name, message, strings.Join(attachedVolumes(pending), ", "))
	}
	return false, nil
}

// forget drops what is remembered about a node without a claim.
func (w *detachWaits) forget(uid types.UID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.waits, uid)
}

// detachTimeout is the bound without a terminationGracePeriod.
func (t *NodeTermination) detachTimeout() time.Duration {
	if t.DetachTimeout > 0 {
		return t.DetachTimeout
	}
	return DefaultDetachTimeout
}

// lastWait is what was last recorded about the node's wait: the claim's
// VolumesDetached condition, or the remembered wait of a node without one.
func (t *NodeTermination) lastWait(node *corev1.Node, claim *karpv1.NodeClaim) detachWait {
	if claim == nil {
		t.waits.mu.Lock()
		defer t.waits.mu.Unlock()
		return t.waits.waits[node.UID]
	}
	cond := meta.FindStatusCondition(claim.Status.Conditions, karpv1.ConditionTypeVolumesDetached)
	switch {
	case cond == nil || cond.Status == metav1.ConditionTrue:
		return detachWait{}
	case cond.Status == metav1.ConditionFalse:
		return detachWait{forced: true}
	}
	return detachWait{since: cond.LastTransitionTime.Time, message: cond.Message}
}

// recordWait writes the wait into the claim's condition, or remembers it
// for a node without a claim, and reports whether anything changed.
func (t *NodeTermination) recordWait(ctx context.Context, node *corev1.Node, claim *karpv1.NodeClaim, wait detachWait, status metav1.ConditionStatus, reason, message string) (bool, error) {
	if claim == nil {
		t.waits.mu.Lock()
		defer t.waits.mu.Unlock()
		if t.waits.waits == nil {
			t.waits.waits = map[types.UID]detachWait{}
		}
		if status == metav1.ConditionTrue {
			_, had := t.waits.waits[node.UID]
			delete(t.waits.waits, node.UID)
			return had, nil
		}
		changed := t.waits.waits[node.UID] != wait
		t.waits.waits[node.UID] = wait
		return changed, nil
	}
	before := claim.DeepCopy()
	cond := metav1.Condition{
		Type: karpv1.ConditionTypeVolumesDetached, Status: status, Reason: reason, Message: message, ObservedGeneration: claim.Generation,
	}
	if status == metav1.ConditionUnknown {
		cond.LastTransitionTime = metav1.Time{Time: wait.since}
	}
	if !meta.SetStatusCondition(&claim.Status.Conditions, cond) {
		return false, nil
	}
	if err := t.Client.Status().Patch(ctx, claim, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return false, fmt.Errorf("recording on NodeClaim %s that volumes %s: %w", claim.Name, message, err)
	}
	return true, nil
}
