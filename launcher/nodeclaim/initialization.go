package nodeclaim

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/backoff"
)

// Reasons of the Initialized condition.
const (
	ReasonInitialized            = "Initialized"
	ReasonNodeNotFound           = "NodeNotFound"
	ReasonNodeNotReady           = "NodeNotReady"
	ReasonStartupTaintsExist     = "StartupTaintsExist"
	ReasonResourcesNotRegistered = "ResourcesNotRegistered"
)

// Initialization marks a claim Initialized once its Node can take the pods
// it was bought for: Ready, without startup taints, and advertising every
// extended resource those pods request (the claim's spec.resources), as
// Karpenter's does. What the type could offer beyond that is not waited
// for: an EFA adapter is attached only when a pod asks for one, so a node
// of an EFA type launched for other pods never advertises it.
type Initialization struct {
	Client   client.Client
	Recorder record.EventRecorder
}

// Reconcile implements reconcile.Reconciler.
func (i *Initialization) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	claim := &karpv1.NodeClaim{}
	if err := i.Client.Get(ctx, req.NamespacedName, claim); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !claim.DeletionTimestamp.IsZero() || !isTrue(claim, karpv1.ConditionTypeRegistered) || isTrue(claim, karpv1.ConditionTypeInitialized) {
		return reconcile.Result{}, nil
	}
	before := claim.DeepCopy()
	node := &corev1.Node{}
	err := i.Client.Get(ctx, types.NamespacedName{Name: claim.Status.NodeName}, node)
	if client.IgnoreNotFound(err) != nil {
		return reconcile.Result{}, fmt.Errorf("reading node %s: %w", claim.Status.NodeName, err)
	}
	if err != nil {
		setCondition(claim, karpv1.ConditionTypeInitialized, metav1.ConditionUnknown, ReasonNodeNotFound, fmt.Sprintf("node %s is gone", claim.Status.NodeName))
		return requeueOnConflict(reconcile.Result{}, patchStatus(ctx, i.Client, before, claim))
	}
	if reason, message := notInitialized(claim, node); reason != "" {
		setCondition(claim, karpv1.ConditionTypeInitialized, metav1.ConditionUnknown, reason, message)
		return requeueOnConflict(reconcile.Result{}, patchStatus(ctx, i.Client, before, claim))
	}
	if node.Labels[wellknown.InitializedLabel] != "true" {
		nodeBefore := node.DeepCopy()
		if node.Labels == nil {
			node.Labels = map[string]string{}
		}
		node.Labels[wellknown.InitializedLabel] = "true"
		if err := i.Client.Patch(ctx, node, client.MergeFromWithOptions(nodeBefore, client.MergeFromWithOptimisticLock{})); err != nil {
			return requeueOnConflict(reconcile.Result{}, fmt.Errorf("labelling node %s initialized: %w", node.Name, err))
		}
	}
	setCondition(claim, karpv1.ConditionTypeInitialized, metav1.ConditionTrue, ReasonInitialized, "")
	i.Recorder.Eventf(claim, corev1.EventTypeNormal, ReasonInitialized, "Node %s is initialized", node.Name)
	return requeueOnConflict(reconcile.Result{}, patchStatus(ctx, i.Client, before, claim))
}

// notInitialized says what the node still lacks, or "" when nothing.
func notInitialized(claim *karpv1.NodeClaim, node *corev1.Node) (reason, message string) {
	ready := false
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			ready = c.Status == corev1.ConditionTrue
		}
	}
	if !ready {
		return ReasonNodeNotReady, fmt.Sprintf("node %s is not Ready", node.Name)
	}
	var startup []string
	for _, t := range append(claim.Spec.StartupTaints, wellknown.UnregisteredNoExecuteTaint) {
		if hasTaint(node.Spec.Taints, t) {
			startup = append(startup, t.ToString())
		}
	}
	if len(startup) > 0 {
		return ReasonStartupTaintsExist, fmt.Sprintf("node %s still has startup taints %s", node.Name, strings.Join(startup, ", "))
	}
	var missing []string
	for name, q := range claim.Spec.Resources.Requests {
		if !extended(name) || q.IsZero() {
			continue
		}
		if have, ok := node.Status.Allocatable[name]; !ok || have.IsZero() {
			missing = append(missing, string(name))
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return ReasonResourcesNotRegistered, fmt.Sprintf("node %s does not advertise %s yet", node.Name, strings.Join(missing, ", "))
	}
	return "", ""
}

// extended reports whether a resource is advertised by a device plugin
// rather than by kubelet itself, so that a node may come up without it.
func extended(name corev1.ResourceName) bool {
	switch name {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods, corev1.ResourceEphemeralStorage:
		return false
	}
	return !strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
}

// SetupWithManager registers the controller; a Node that changes brings
// its claim back.
func (i *Initialization) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("nodeclaim.initialization").
		For(&karpv1.NodeClaim{}).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(claimOfNode(i.Client))).
		WithOptions(controller.Options{MaxConcurrentReconciles: 5, RateLimiter: backoff.RateLimiter()}).
		Complete(i)
}
