// Package fieldindex defines the cache indexes the launcher's controllers
// look objects up by: a Node and its NodeClaim find each other by provider
// id, a node class finds the claims that use it, and a drain finds the pods
// of a node and the VolumeAttachments its instance waits for. Without them
// each lookup would scan every object of the kind.
package fieldindex

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// Index names, which are also the fields to match in client.MatchingFields.
const (
	NodeClaimProviderID = "status.providerID"
	NodeClaimNodeClass  = "spec.nodeClassRef.name"
	NodeProviderID      = "spec.providerID"
	PodNodeName         = "spec.nodeName"
	// VolumeAttachmentNodeName finds the attachments a drained node waits
	// for before its instance is terminated.
	VolumeAttachmentNodeName = "spec.nodeName"
)

// Index is one index: the kind of object, its name and how to read it.
type Index struct {
	Object  client.Object
	Field   string
	Extract client.IndexerFunc
}

// All are the indexes the launcher uses.
var All = []Index{
	{&karpv1.NodeClaim{}, NodeClaimProviderID, func(o client.Object) []string {
		return nonEmpty(o.(*karpv1.NodeClaim).Status.ProviderID)
	}},
	{&karpv1.NodeClaim{}, NodeClaimNodeClass, func(o client.Object) []string {
		if ref := o.(*karpv1.NodeClaim).Spec.NodeClassRef; ref != nil {
			return nonEmpty(ref.Name)
		}
		return nil
	}},
	{&corev1.Node{}, NodeProviderID, func(o client.Object) []string {
		return nonEmpty(o.(*corev1.Node).Spec.ProviderID)
	}},
	{&corev1.Pod{}, PodNodeName, func(o client.Object) []string {
		return nonEmpty(o.(*corev1.Pod).Spec.NodeName)
	}},
	{&storagev1.VolumeAttachment{}, VolumeAttachmentNodeName, func(o client.Object) []string {
		return nonEmpty(o.(*storagev1.VolumeAttachment).Spec.NodeName)
	}},
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// Register adds every index to a cache's indexer.
func Register(ctx context.Context, indexer client.FieldIndexer) error {
	for _, idx := range All {
		if err := indexer.IndexField(ctx, idx.Object, idx.Field, idx.Extract); err != nil {
			return fmt.Errorf("indexing %T by %s: %w", idx.Object, idx.Field, err)
		}
	}
	return nil
}
