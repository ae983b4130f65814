package termination

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/component-helpers/storage/ephemeral"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tailor-project/tailor/launcher/fieldindex"
)

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
// volumes; a generic ephemeral volume's claim is named as the ephemeral
// volume controller names it.
func claimName(pod *corev1.Pod, v corev1.Volume) string {
	switch {
	case v.PersistentVolumeClaim != nil:
		return v.PersistentVolumeClaim.ClaimName
	case v.Ephemeral != nil:
		return ephemeral.VolumeClaimName(pod, &v)
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
