package termination

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/fieldindex"
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

// pendingAttachments are the VolumeAttachments on the node that the
// instance waits for. As in Karpenter, those without a PersistentVolume and
// those of volumes that pods the drain leaves behind still use are not: the
// drain does not evict those pods, so their volumes would never detach.
func (t *NodeTermination) pendingAttachments(ctx context.Context, node *corev1.Node) ([]storagev1.VolumeAttachment, error) {
	list := &storagev1.VolumeAttachmentList{}
	if err := t.Client.List(ctx, list, client.MatchingFields{fieldindex.VolumeAttachmentNodeName: node.Name}); err != nil {
		return nil, fmt.Errorf("listing the VolumeAttachments of node %s: %w", node.Name, err)
	}
	var pending []storagev1.VolumeAttachment
	for _, va := range list.Items {
		if va.Spec.Source.PersistentVolumeName != nil {
			pending = append(pending, va)
		}
	}
	if len(pending) == 0 {
		return nil, nil
	}
	staying, err := t.volumesStaying(ctx, node)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(pending, func(va storagev1.VolumeAttachment) bool {
		return staying.Has(*va.Spec.Source.PersistentVolumeName)
	}), nil
}

// volumesStaying are the PersistentVolumes that pods on the node which need
// not leave it use. Their claims are read from the API server rather than a
// cache: they are rarely needed, and a cache would watch every claim.
func (t *NodeTermination) volumesStaying(ctx context.Context, node *corev1.Node) (sets.Set[string], error) {
	pods := &corev1.PodList{}
	if err := t.Client.List(ctx, pods, client.MatchingFields{fieldindex.PodNodeName: node.Name}); err != nil {
		return nil, fmt.Errorf("listing the pods of node %s: %w", node.Name, err)
	}
	reader := t.Reader
	if reader == nil {
		reader = t.Client
	}
	now := t.Clock.Now()
	staying := sets.New[string]()
	for i := range pods.Items {
		pod := &pods.Items[i]
		if mustLeave(pod, now) {
			continue
		}
		for _, v := range pod.Spec.Volumes {
			name := claimName(pod, v)
			if name == "" {
				continue
			}
			pvc := &corev1.PersistentVolumeClaim{}
			err := reader.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: name}, pvc)
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("reading PersistentVolumeClaim %s/%s of pod %s: %w", pod.Namespace, name, pod.Name, err)
			}
			if pvc.Spec.VolumeName != "" {
				staying.Insert(pvc.Spec.VolumeName)
			}
		}
	}
	return staying, nil
}

// claimName is the PersistentVolumeClaim a pod's volume uses, "" for other
// volumes; a generic ephemeral volume's claim is named after pod and volume.
func claimName(pod *corev1.Pod, v corev1.Volume) string {
	switch {
	case v.PersistentVolumeClaim != nil:
		return v.PersistentVolumeClaim.ClaimName
	case v.Ephemeral != nil:
		return pod.Name + "-" + v.Name
	}
	return ""
}

// waitingMessage says which volumes are waited for, the first few by name.
func waitingMessage(pending []storagev1.VolumeAttachment) string {
	const shown = 5
	names := attachedVolumes(pending)
	list := strings.Join(names[:min(shown, len(names))], ", ")
	if len(names) > shown {
		list += fmt.Sprintf(" and %d more", len(names)-shown)
	}
	return fmt.Sprintf("waiting for %d VolumeAttachments to detach: %s", len(pending), list)
}

// attachedVolumes are the PersistentVolumes of the attachments, sorted.
func attachedVolumes(pending []storagev1.VolumeAttachment) []string {
	names := make([]string, 0, len(pending))
	for _, va := range pending {
		names = append(names, *va.Spec.Source.PersistentVolumeName)
	}
	slices.Sort(names)
	return names
}
