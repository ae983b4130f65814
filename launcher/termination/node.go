package termination

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/backoff"
	"github.com/tailor-project/tailor/launcher/instance"
	"github.com/tailor-project/tailor/launcher/metrics"
)

// drainPoll is how often a draining node is looked at: evictions a budget
// refused are asked again, and pods that left are counted.
const drainPoll = 2 * time.Second

// NodeTermination finalizes deleted Nodes of Tailor's instances: taint,
// drain, wait for volumes to detach, terminate the instance, and let the
// Node go once the instance is shutting down.
type NodeTermination struct {
	Client client.Client
	// Reader reads what the cache does not hold: the claims of pods whose
	// volumes are not waited for. Client when nil.
	Reader    client.Reader
	Instances Instances
	Drainer   *Drainer
	Recorder  record.EventRecorder
	Clock     clock.PassiveClock
	// DetachTimeout bounds the wait for volumes to detach when the claim
	// has no terminationGracePeriod; DefaultDetachTimeout when zero.
	DetachTimeout time.Duration

	waits detachWaits
}

// Reconcile implements reconcile.Reconciler.
func (t *NodeTermination) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	node := &corev1.Node{}
	if err := t.Client.Get(ctx, req.NamespacedName, node); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if node.DeletionTimestamp.IsZero() || !controllerutil.ContainsFinalizer(node, wellknown.TerminationFinalizer) {
		return reconcile.Result{}, nil
	}
	claim, err := claimForNode(ctx, t.Client, node)
	if err != nil {
		return reconcile.Result{}, err
	}
	var about client.Object = node
	if claim != nil {
		about = claim
		// The claim and its node go together, whichever was deleted first.
		if claim.DeletionTimestamp.IsZero() {
			if err := t.Client.Delete(ctx, claim, client.Preconditions{UID: &claim.UID}); client.IgnoreNotFound(err) != nil {
				return reconcile.Result{}, fmt.Errorf("deleting NodeClaim %s of deleted node %s: %w", claim.Name, node.Name, err)
			}
			t.Recorder.Eventf(claim, corev1.EventTypeNormal, "NodeDeleted", "Node %s was deleted; deleting its NodeClaim", node.Name)
			// The claim's termination records its deadline; drain with it.
			return reconcile.Result{RequeueAfter: time.Second}, nil
		}
	}
	id, err := instance.ParseProviderID(node.Spec.ProviderID)
	if err != nil {
		// Not an instance Tailor can terminate: nothing to wait for.
		return t.release(ctx, node, about, "its provider id names no EC2 instance")
	}
	inst, err := t.Instances.Get(ctx, id)
	switch {
	case errors.Is(err, instance.ErrNotFound):
		return t.release(ctx, node, about, fmt.Sprintf("instance %s no longer exists", id))
	case err != nil:
		return reconcile.Result{}, err
	case inst.Gone():
		// Nothing runs there any more: draining would only wait for pods
		// that cannot stop.
		return t.release(ctx, node, about, fmt.Sprintf("instance %s is %s", id, inst.State))
	}
	if err := t.taint(ctx, node); err != nil {
		return reconcile.Result{}, err
	}
	limit := deadline(claim)
	remaining, err := t.Drainer.Drain(ctx, node, about, limit)
	if err != nil {
		return reconcile.Result{}, err
	}
	expired := limit != nil && !t.Clock.Now().Before(*limit)
	if remaining > 0 && !expired {
		return reconcile.Result{RequeueAfter: drainPoll}, nil
	}
	if remaining > 0 {
		t.Recorder.Eventf(about, corev1.EventTypeWarning, "TerminationGracePeriodExpired",
			"Terminating instance %s with %d pods left on node %s: the termination grace period has ended", id, remaining, node.Name)
	}
	waiting, err := t.awaitDetach(ctx, node, claim, about, limit)
	if err != nil {
		return reconcile.Result{}, err
	}
	if waiting {
		return reconcile.Result{RequeueAfter: detachPoll}, nil
	}
	if err := t.Instances.Terminate(ctx, id); err != nil {
		return reconcile.Result{}, err
	}
	t.Recorder.Eventf(about, corev1.EventTypeNormal, "InstanceTerminating", "Node %s is drained; terminating instance %s", node.Name, id)
	return reconcile.Result{RequeueAfter: instancePoll}, nil
}

// taint puts karpenter.sh/disrupted:NoSchedule on the node, so that no pod
// is scheduled onto a node being drained.
func (t *NodeTermination) taint(ctx context.Context, node *corev1.Node) error {
	for _, have := range node.Spec.Taints {
		if have.MatchTaint(&wellknown.DisruptedNoScheduleTaint) {
			return nil
		}
	}
	before := node.DeepCopy()
	node.Spec.Taints = append(node.Spec.Taints, wellknown.DisruptedNoScheduleTaint)
	if err := t.Client.Patch(ctx, node, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("tainting node %s %s: %w", node.Name, wellknown.DisruptedNoScheduleTaint.ToString(), err)
	}
	return nil
}

// release removes the node's finalizer.
func (t *NodeTermination) release(ctx context.Context, node *corev1.Node, about client.Object, why string) (reconcile.Result, error) {
	before := node.DeepCopy()
	controllerutil.RemoveFinalizer(node, wellknown.TerminationFinalizer)
	if err := t.Client.Patch(ctx, node, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(fmt.Errorf("removing the finalizer of node %s: %w", node.Name, err))
	}
	t.waits.forget(node.UID)
	metrics.NodeTerminated(node.Labels)
	t.Recorder.Eventf(about, corev1.EventTypeNormal, "NodeTerminated", "Node %s is gone: %s", node.Name, why)
	return reconcile.Result{}, nil
}

// SetupWithManager registers the controller; a VolumeAttachment that goes
// away brings its node back, which may be waiting for it.
func (t *NodeTermination) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("node.termination").
		For(&corev1.Node{}).
		Watches(&storagev1.VolumeAttachment{}, handler.EnqueueRequestsFromMapFunc(nodeOfAttachment)).
		WithOptions(controller.Options{MaxConcurrentReconciles: 10, RateLimiter: backoff.RateLimiter()}).
		Complete(t)
}

// nodeOfAttachment maps a VolumeAttachment to its node.
func nodeOfAttachment(_ context.Context, o client.Object) []reconcile.Request {
	va, ok := o.(*storagev1.VolumeAttachment)
	if !ok || va.Spec.NodeName == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: va.Spec.NodeName}}}
}
