package nodeclaim

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/backoff"
	"github.com/tailor-project/tailor/launcher/metrics"
)

// Reasons of the Registered condition.
const (
	ReasonRegistered     = "Registered"
	ReasonDuplicateNodes = "DuplicateNodes"
)

// Registration links the Node that joins for a claim with the claim.
type Registration struct {
	Client   client.Client
	Recorder record.EventRecorder
}

// Reconcile implements reconcile.Reconciler.
func (r *Registration) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	claim := &karpv1.NodeClaim{}
	if err := r.Client.Get(ctx, req.NamespacedName, claim); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !claim.DeletionTimestamp.IsZero() || !isTrue(claim, karpv1.ConditionTypeLaunched) || isTrue(claim, karpv1.ConditionTypeRegistered) {
		return reconcile.Result{}, nil
	}
	nodes, err := nodesOf(ctx, r.Client, claim)
	if err != nil {
		return reconcile.Result{}, err
	}
	before := claim.DeepCopy()
	switch len(nodes) {
	case 0:
		// The node has not joined; its creation brings the claim back.
		return reconcile.Result{}, nil
	case 1:
	default:
		names := make([]string, 0, len(nodes))
		for _, n := range nodes {
			names = append(names, n.Name)
		}
		message := fmt.Sprintf("nodes %s all have provider id %s", strings.Join(names, ", "), claim.Status.ProviderID)
		if c := findCondition(claim, karpv1.ConditionTypeRegistered); c == nil || c.Reason != ReasonDuplicateNodes {
			r.Recorder.Event(claim, corev1.EventTypeWarning, ReasonDuplicateNodes, "Cannot register: "+message)
		}
		setCondition(claim, karpv1.ConditionTypeRegistered, metav1.ConditionFalse, ReasonDuplicateNodes, message)
		return requeueOnConflict(reconcile.Result{}, patchStatus(ctx, r.Client, before, claim))
	}
	node := &nodes[0]
	if err := r.linkNode(ctx, claim, node); err != nil {
		return requeueOnConflict(reconcile.Result{}, err)
	}
	claim.Status.NodeName = node.Name
	setCondition(claim, karpv1.ConditionTypeRegistered, metav1.ConditionTrue, ReasonRegistered, "")
	r.Recorder.Eventf(claim, corev1.EventTypeNormal, ReasonRegistered, "Node %s registered", node.Name)
	err = patchStatus(ctx, r.Client, before, claim)
	if err == nil {
		metrics.NodeCreated(claim)
	}
	return requeueOnConflict(reconcile.Result{}, err)
}

// linkNode makes the Node the claim's: the claim's labels, the claim as
// owner, the termination finalizer, and the unregistered taint lifted.
// The claim's taints and startup taints are added if kubelet did not
// register them, but only while the node is still unregistered: a startup
// taint an agent removed since must not come back.
func (r *Registration) linkNode(ctx context.Context, claim *karpv1.NodeClaim, node *corev1.Node) error {
	before := node.DeepCopy()
	if node.Labels == nil {
		node.Labels = map[string]string{}
	}
	for k, v := range claim.Labels {
		if _, ok := node.Labels[k]; !ok {
			node.Labels[k] = v
		}
	}
	node.Labels[wellknown.RegisteredLabel] = "true"
	controllerutil.AddFinalizer(node, wellknown.TerminationFinalizer)
	if !ownedBy(node, claim) {
		node.OwnerReferences = append(node.OwnerReferences, metav1.OwnerReference{
			APIVersion:         karpv1.GroupVersion.String(),
			Kind:               "NodeClaim",
			Name:               claim.Name,
			UID:                claim.UID,
			BlockOwnerDeletion: ptr.To(true),
		})
	}
	if hasTaint(node.Spec.Taints, wellknown.UnregisteredNoExecuteTaint) {
		var taints []corev1.Taint
		for _, t := range node.Spec.Taints {
			if !t.MatchTaint(&wellknown.UnregisteredNoExecuteTaint) {
				taints = append(taints, t)
			}
		}
		for _, t := range append(append([]corev1.Taint(nil), claim.Spec.Taints...), claim.Spec.StartupTaints...) {
			if !hasTaint(taints, t) {
				taints = append(taints, t)
			}
		}
		node.Spec.Taints = taints
	}
	if equality.Semantic.DeepEqual(before, node) {
		return nil
	}
	if err := r.Client.Patch(ctx, node, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("linking node %s to NodeClaim %s: %w", node.Name, claim.Name, err)
	}
	return nil
}

func ownedBy(node *corev1.Node, claim *karpv1.NodeClaim) bool {
	for _, ref := range node.OwnerReferences {
		if ref.UID == claim.UID {
			return true
		}
	}
	return false
}

// SetupWithManager registers the controller; a Node that joins or changes
// brings its claim back.
func (r *Registration) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("nodeclaim.registration").
		For(&karpv1.NodeClaim{}).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(claimOfNode(r.Client))).
		WithOptions(controller.Options{MaxConcurrentReconciles: 5, RateLimiter: backoff.RateLimiter()}).
		Complete(r)
}
