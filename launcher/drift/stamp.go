package drift

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// stamp says how the hash of one kind (NodePool, EC2NodeClass) is written:
// on the object itself, and on the claims made from it.
type stamp struct {
	kind                string
	hashKey, versionKey string
	version             string
	// ownClaim says whether a claim was made from the object and should
	// carry its hash of this version.
	ownClaim func(obj client.Object, claim *karpv1.NodeClaim) bool
	// listOptions narrow the list of claims ownClaim filters.
	listOptions func(obj client.Object) []client.ListOption
}

// apply annotates obj with its current hash and version. When obj carries a
// hash of another version (an upgrade of Tailor changed the hash), its
// claims are stamped anew first: hashes of two versions cannot be
// compared, and an upgrade must not declare every node drifted. A claim
// already drifted stays so, keeping its old hash, since whether it still is
// cannot be told.
func (s stamp) apply(ctx context.Context, c client.Client, obj client.Object, current string) error {
	if obj.GetAnnotations()[s.versionKey] != s.version {
		if err := s.restampClaims(ctx, c, obj, current); err != nil {
			return err
		}
	}
	if obj.GetAnnotations()[s.hashKey] == current && obj.GetAnnotations()[s.versionKey] == s.version {
		return nil
	}
	before := obj.DeepCopyObject().(client.Object)
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[s.hashKey] = current
	annotations[s.versionKey] = s.version
	obj.SetAnnotations(annotations)
	if err := c.Patch(ctx, obj, client.MergeFrom(before)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("annotating %s %s with its hash: %w", s.kind, obj.GetName(), err))
	}
	return nil
}

func (s stamp) restampClaims(ctx context.Context, c client.Client, obj client.Object, current string) error {
	claims := &karpv1.NodeClaimList{}
	if err := c.List(ctx, claims, s.listOptions(obj)...); err != nil {
		return fmt.Errorf("listing the NodeClaims of %s %s: %w", s.kind, obj.GetName(), err)
	}
	var errs []error
	for i := range claims.Items {
		claim := &claims.Items[i]
		if !s.ownClaim(obj, claim) || claim.Annotations[s.versionKey] == s.version {
			continue
		}
		before := claim.DeepCopy()
		metav1.SetMetaDataAnnotation(&claim.ObjectMeta, s.versionKey, s.version)
		if meta.FindStatusCondition(claim.Status.Conditions, karpv1.ConditionTypeDrifted) == nil {
			metav1.SetMetaDataAnnotation(&claim.ObjectMeta, s.hashKey, current)
		}
		if err := c.Patch(ctx, claim, client.MergeFrom(before)); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("stamping NodeClaim %s with hash version %s: %w", claim.Name, s.version, err))
		}
	}
	return errors.Join(errs...)
}
