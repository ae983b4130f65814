package termination

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/backoff"
	"github.com/tailor-project/tailor/launcher/fieldindex"
	"github.com/tailor-project/tailor/launcher/instance"
	"github.com/tailor-project/tailor/launcher/metrics"
)

// instancePoll is how often an instance that is being terminated is looked
// at until EC2 reports it shutting down.
const instancePoll = 5 * time.Second

// NodeClaimTermination finalizes deleted NodeClaims: their Node goes first
// (and is drained on the way), then their instance, then the claim.
type NodeClaimTermination struct {
	Client    client.Client
	Instances Instances
	Recorder  record.EventRecorder
}

// Reconcile implements reconcile.Reconciler.
func (t *NodeClaimTermination) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	claim := &karpv1.NodeClaim{}
	if err := t.Client.Get(ctx, req.NamespacedName, claim); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if claim.DeletionTimestamp.IsZero() || !controllerutil.ContainsFinalizer(claim, wellknown.TerminationFinalizer) {
		return reconcile.Result{}, nil
	}
	if value := deadlineAnnotation(claim); value != "" && claim.Annotations[wellknown.NodeClaimTerminationTimestampAnnotation] == "" {
		before := claim.DeepCopy()
		metav1.SetMetaDataAnnotation(&claim.ObjectMeta, wellknown.NodeClaimTerminationTimestampAnnotation, value)
		if err := t.Client.Patch(ctx, claim, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
			return reconcile.Result{}, fmt.Errorf("recording the termination deadline of NodeClaim %s: %w", claim.Name, err)
		}
	}
	waiting, err := t.deleteNodes(ctx, claim)
	if err != nil {
		return reconcile.Result{}, err
	}
	if waiting {
		// The Node's deletion brings the claim back; the requeue only
		// covers a missed event.
		return reconcile.Result{RequeueAfter: time.Minute}, nil
	}
	ids, err := t.instanceIDs(ctx, claim)
	if err != nil {
		return reconcile.Result{}, err
	}
	allGone := true
	for _, id := range ids {
		gone, err := terminate(ctx, t.Instances, id)
		if err != nil {
			return reconcile.Result{}, err
		}
		allGone = allGone && gone
	}
	if !allGone {
		return t.terminating(ctx, claim, ids)
	}
	before := claim.DeepCopy()
	controllerutil.RemoveFinalizer(claim, wellknown.TerminationFinalizer)
	if err := t.Client.Patch(ctx, claim, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	metrics.NodeClaimTerminated(claim)
	t.Recorder.Eventf(claim, corev1.EventTypeNormal, "Terminated", "NodeClaim terminated (instances %v)", ids)
	return reconcile.Result{}, nil
}

// deleteNodes deletes the claim's Nodes and reports whether any is still
// there; their deletion drains them and terminates the instance.
func (t *NodeClaimTermination) deleteNodes(ctx context.Context, claim *karpv1.NodeClaim) (bool, error) {
	var nodes []corev1.Node
	if claim.Status.ProviderID != "" {
		list := &corev1.NodeList{}
		if err := t.Client.List(ctx, list, client.MatchingFields{fieldindex.NodeProviderID: claim.Status.ProviderID}); err != nil {
			return false, fmt.Errorf("listing the nodes of NodeClaim %s: %w", claim.Name, err)
		}
		nodes = list.Items
	}
	var errs []error
	for i := range nodes {
		node := &nodes[i]
		if !node.DeletionTimestamp.IsZero() {
			continue
		}
		if err := t.Client.Delete(ctx, node, client.Preconditions{UID: &node.UID}); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("deleting node %s: %w", node.Name, err))
			continue
		}
		t.Recorder.Eventf(claim, corev1.EventTypeNormal, "DeletingNode", "Deleting node %s, which drains it", node.Name)
	}
	return len(nodes) > 0, errors.Join(errs...)
}

// instanceIDs are the instances of the claim: the one its provider id
// names, and any tagged for it, which a launch that was cut short may have
// left without recording it.
func (t *NodeClaimTermination) instanceIDs(ctx context.Context, claim *karpv1.NodeClaim) ([]string, error) {
	var ids []string
	if claim.Status.ProviderID != "" {
		id, err := instance.ParseProviderID(claim.Status.ProviderID)
		if err != nil {
			return nil, fmt.Errorf("NodeClaim %s: %w", claim.Name, err)
		}
		ids = append(ids, id)
	}
	tagged, err := t.Instances.ForNodeClaim(ctx, claim.Name)
	if err != nil {
		return nil, err
	}
	for _, inst := range tagged {
		if len(ids) == 0 || ids[0] != inst.ID {
			ids = append(ids, inst.ID)
		}
	}
	return ids, nil
}

// terminating records on the claim that its instances are being terminated
// and looks again shortly.
func (t *NodeClaimTermination) terminating(ctx context.Context, claim *karpv1.NodeClaim, ids []string) (reconcile.Result, error) {
	before := claim.DeepCopy()
	meta.SetStatusCondition(&claim.Status.Conditions, metav1.Condition{
		Type: karpv1.ConditionTypeInstanceTerminating, Status: metav1.ConditionTrue, Reason: "InstanceTerminating",
		Message: fmt.Sprintf("waiting for EC2 to shut down %v", ids), ObservedGeneration: claim.Generation,
	})
	if !equality.Semantic.DeepEqual(before.Status, claim.Status) {
		t.Recorder.Eventf(claim, corev1.EventTypeNormal, "InstanceTerminating", "Terminating instances %v", ids)
		if err := t.Client.Status().Patch(ctx, claim, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
			return reconcile.Result{}, client.IgnoreNotFound(err)
		}
	}
	return reconcile.Result{RequeueAfter: instancePoll}, nil
}

// SetupWithManager registers the controller; a Node that goes away brings
// its claim back.
func (t *NodeClaimTermination) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("nodeclaim.termination").
		For(&karpv1.NodeClaim{}).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(claimOfNode(t.Client))).
		WithOptions(controller.Options{MaxConcurrentReconciles: 10, RateLimiter: backoff.RateLimiter()}).
		Complete(t)
}

// claimOfNode maps a Node to the claim with its provider id.
func claimOfNode(c client.Client) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		node, ok := o.(*corev1.Node)
		if !ok || node.Spec.ProviderID == "" {
			return nil
		}
		claim, err := claimForNode(ctx, c, node)
		if err != nil || claim == nil {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: claim.Name}}}
	}
}

// claimForNode returns the claim with the node's provider id, nil if none.
func claimForNode(ctx context.Context, c client.Client, node *corev1.Node) (*karpv1.NodeClaim, error) {
	if node.Spec.ProviderID == "" {
		return nil, nil
	}
	claims := &karpv1.NodeClaimList{}
	if err := c.List(ctx, claims, client.MatchingFields{fieldindex.NodeClaimProviderID: node.Spec.ProviderID}); err != nil {
		return nil, fmt.Errorf("finding the NodeClaim of node %s: %w", node.Name, err)
	}
	if len(claims.Items) == 0 {
		return nil, nil
	}
	return &claims.Items[0], nil
}
