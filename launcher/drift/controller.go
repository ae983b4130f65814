package drift

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/backoff"
	"github.com/tailor-project/tailor/launcher/fieldindex"
	"github.com/tailor-project/tailor/launcher/instance"
	"github.com/tailor-project/tailor/launcher/nodeclass"
)

// Event reasons.
const (
	// ReasonDrifted is the event of a claim that drifted, or drifted for
	// another reason than before.
	ReasonDrifted = "Drifted"
	// ReasonDriftResolved is the event of a claim that is no longer drifted.
	ReasonDriftResolved = "DriftResolved"
)

// DefaultRecheckInterval is how often a claim is judged again when nothing
// it is judged by has changed in the API server: what EC2 says about its
// instance may have.
const DefaultRecheckInterval = 5 * time.Minute

// NetworkReader tells where an instance is plugged in: *Networks.
type NetworkReader interface {
	Get(ctx context.Context, id string) (Network, error)
}

// Drift keeps the Drifted condition of each launched NodeClaim true to its
// NodePool and EC2NodeClass.
type Drift struct {
	Client   client.Client
	Networks NetworkReader
	Recorder record.EventRecorder
	// RecheckInterval is DefaultRecheckInterval when zero.
	RecheckInterval time.Duration
}

// Reconcile implements reconcile.Reconciler.
func (d *Drift) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	claim := &karpv1.NodeClaim{}
	if err := d.Client.Get(ctx, req.NamespacedName, claim); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !claim.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	before := claim.DeepCopy()
	// A copy: setting the condition below changes the list in place.
	var current *metav1.Condition
	if c := meta.FindStatusCondition(claim.Status.Conditions, karpv1.ConditionTypeDrifted); c != nil {
		current = c.DeepCopy()
	}
	if !meta.IsStatusConditionTrue(claim.Status.Conditions, karpv1.ConditionTypeLaunched) {
		// What was never launched cannot be out of date.
		if current != nil {
			meta.RemoveStatusCondition(&claim.Status.Conditions, karpv1.ConditionTypeDrifted)
			return d.write(ctx, before, claim, reconcile.Result{})
		}
		return reconcile.Result{}, nil
	}
	found, undecided, err := d.judge(ctx, claim)
	if err != nil {
		return reconcile.Result{}, err
	}
	recheck := reconcile.Result{RequeueAfter: d.recheckInterval()}
	var event func()
	switch {
	case found != nil:
		meta.SetStatusCondition(&claim.Status.Conditions, metav1.Condition{
			Type: karpv1.ConditionTypeDrifted, Status: metav1.ConditionTrue, Reason: found.reason, Message: found.message,
			ObservedGeneration: claim.Generation,
		})
		if current == nil || current.Status != metav1.ConditionTrue || current.Reason != found.reason {
			event = func() {
				d.Recorder.Eventf(claim, corev1.EventTypeNormal, ReasonDrifted, "NodeClaim drifted (%s): %s", found.reason, found.message)
			}
		}
	case undecided != "":
		// Part of the judgement could not be made: whatever the condition
		// says stays until it can.
		return recheck, nil
	case current != nil:
		meta.RemoveStatusCondition(&claim.Status.Conditions, karpv1.ConditionTypeDrifted)
		event = func() {
			d.Recorder.Event(claim, corev1.EventTypeNormal, ReasonDriftResolved, "NodeClaim is no longer drifted: its NodePool and EC2NodeClass would launch it as it is")
		}
	}
	res, err := d.write(ctx, before, claim, recheck)
	// Told once the condition says so: a write that lost a race is tried
	// again, and says it then.
	if err == nil && !res.Requeue && event != nil {
		event()
	}
	return res, err
}

// write patches the claim's status when it changed. The patch carries the
// resource version read: other controllers write the same conditions list.
func (d *Drift) write(ctx context.Context, before, claim *karpv1.NodeClaim, res reconcile.Result) (reconcile.Result, error) {
	if equality.Semantic.DeepEqual(before.Status, claim.Status) {
		return res, nil
	}
	err := d.Client.Status().Patch(ctx, claim, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	switch {
	case apierrors.IsConflict(err):
		return reconcile.Result{Requeue: true}, nil
	case err != nil:
		return reconcile.Result{}, client.IgnoreNotFound(fmt.Errorf("updating the Drifted condition of NodeClaim %s: %w", claim.Name, err))
	}
	return res, nil
}

// judge finds why the claim drifted, checking the cheap causes first and
// asking EC2 last. undecided says what could not be judged when nothing
// was found.
func (d *Drift) judge(ctx context.Context, claim *karpv1.NodeClaim) (found *finding, undecided string, err error) {
	np, why, err := d.nodePool(ctx, claim)
	if err != nil {
		return nil, "", err
	}
	if np != nil {
		labels, err := d.labels(ctx, claim)
		if err != nil {
			return nil, "", err
		}
		if f := firstOf(
			func() *finding { return staticPoolDrift(np, claim) },
			func() *finding { return requirementsDrift(np, labels) },
		); f != nil {
			return f, "", nil
		}
	} else {
		undecided = why
	}
	nc, why, err := d.nodeClass(ctx, claim)
	if err != nil || nc == nil {
		return nil, why, err
	}
	if f := staticClassDrift(nc, claim); f != nil {
		return f, "", nil
	}
	// The rest compares with what the class resolved to, which is only
	// what its spec selects once the class is Ready for its generation.
	if ready, why := nodeclass.IsReady(nc); !ready {
		return nil, fmt.Sprintf("EC2NodeClass %s is not ready: %s", nc.Name, why), nil
	}
	if claim.Status.ImageID != "" {
		if f := amiDrift(nc, claim); f != nil {
			return f, "", nil
		}
	} else {
		undecided = "the NodeClaim records no image"
	}
	id, err := instance.ParseProviderID(claim.Status.ProviderID)
	if err != nil {
		return nil, fmt.Sprintf("the NodeClaim's provider id %q names no instance", claim.Status.ProviderID), nil
	}
	network, err := d.Networks.Get(ctx, id)
	if errors.Is(err, ErrInstanceNotFound) {
		// Its termination is someone else's business.
		return nil, err.Error(), nil
	}
	if err != nil {
		return nil, "", err
	}
	if f := firstOf(
		func() *finding { return securityGroupDrift(nc, network) },
		func() *finding { return subnetDrift(nc, network) },
	); f != nil {
		return f, "", nil
	}
	return nil, undecided, nil
}

func firstOf(checks ...func() *finding) *finding {
	for _, check := range checks {
		if f := check(); f != nil {
			return f
		}
	}
	return nil
}

// nodePool returns the claim's pool, or nil and why it cannot be judged.
func (d *Drift) nodePool(ctx context.Context, claim *karpv1.NodeClaim) (*karpv1.NodePool, string, error) {
	name := claim.Labels[wellknown.NodePoolLabel]
	if name == "" {
		return nil, "the NodeClaim names no NodePool", nil
	}
	np := &karpv1.NodePool{}
	err := d.Client.Get(ctx, types.NamespacedName{Name: name}, np)
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Sprintf("NodePool %s does not exist", name), nil
	case err != nil:
		return nil, "", fmt.Errorf("reading NodePool %s: %w", name, err)
	}
	return np, "", nil
}

// nodeClass returns the claim's class, or nil and why it cannot be judged.
func (d *Drift) nodeClass(ctx context.Context, claim *karpv1.NodeClaim) (*ec2v1.EC2NodeClass, string, error) {
	ref := claim.Spec.NodeClassRef
	if ref == nil || ref.Kind != "EC2NodeClass" || ref.Group != ec2v1.GroupVersion.Group {
		return nil, "the NodeClaim names no EC2NodeClass", nil
	}
	nc := &ec2v1.EC2NodeClass{}
	err := d.Client.Get(ctx, types.NamespacedName{Name: ref.Name}, nc)
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Sprintf("EC2NodeClass %s does not exist", ref.Name), nil
	case err != nil:
		return nil, "", fmt.Errorf("reading EC2NodeClass %s: %w", ref.Name, err)
	}
	return nc, "", nil
}

// labels are the claim's labels, with those its node has besides (the
// region, say): what a pod's node affinity would see.
func (d *Drift) labels(ctx context.Context, claim *karpv1.NodeClaim) (map[string]string, error) {
	labels := make(map[string]string, len(claim.Labels))
	for k, v := range claim.Labels {
		labels[k] = v
	}
	if claim.Status.NodeName == "" {
		return labels, nil
	}
	node := &corev1.Node{}
	if err := d.Client.Get(ctx, types.NamespacedName{Name: claim.Status.NodeName}, node); err != nil {
		return labels, client.IgnoreNotFound(err)
	}
	for k, v := range node.Labels {
		if _, ok := labels[k]; !ok {
			labels[k] = v
		}
	}
	return labels, nil
}

func (d *Drift) recheckInterval() time.Duration {
	if d.RecheckInterval > 0 {
		return d.RecheckInterval
	}
	return DefaultRecheckInterval
}

// SetupWithManager registers the controller. A claim is judged when it
// changes, when its pool's spec or hash changes, and when its class's
// spec, hash or resolved subnets, security groups and AMIs change.
func (d *Drift) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("nodeclaim.drift").
		For(&karpv1.NodeClaim{}).
		Watches(&karpv1.NodePool{}, handler.EnqueueRequestsFromMapFunc(claimsOfPool(d.Client)),
			builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&ec2v1.EC2NodeClass{}, handler.EnqueueRequestsFromMapFunc(claimsOfClass(d.Client)),
			builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, resolutionChanged()))).
		WithOptions(controller.Options{MaxConcurrentReconciles: 5, RateLimiter: backoff.RateLimiter()}).
		Complete(d)
}

// resolutionChanged passes updates of a class whose resolved subnets,
// security groups, AMIs or readiness changed.
func resolutionChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		was, ok1 := e.ObjectOld.(*ec2v1.EC2NodeClass)
		now, ok2 := e.ObjectNew.(*ec2v1.EC2NodeClass)
		if !ok1 || !ok2 {
			return false
		}
		wasReady, _ := nodeclass.IsReady(was)
		nowReady, _ := nodeclass.IsReady(now)
		return wasReady != nowReady ||
			!equality.Semantic.DeepEqual(was.Status.Subnets, now.Status.Subnets) ||
			!equality.Semantic.DeepEqual(was.Status.SecurityGroups, now.Status.SecurityGroups) ||
			!equality.Semantic.DeepEqual(was.Status.AMIs, now.Status.AMIs)
	}}
}

// claimsOfPool maps a pool to its claims.
func claimsOfPool(c client.Client) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		claims := &karpv1.NodeClaimList{}
		if err := c.List(ctx, claims, client.MatchingLabels{wellknown.NodePoolLabel: o.GetName()}); err != nil {
			return nil
		}
		return requests(claims)
	}
}

// claimsOfClass maps a class to its claims.
func claimsOfClass(c client.Client) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		claims := &karpv1.NodeClaimList{}
		if err := c.List(ctx, claims, client.MatchingFields{fieldindex.NodeClaimNodeClass: o.GetName()}); err != nil {
			return nil
		}
		return requests(claims)
	}
}

func requests(claims *karpv1.NodeClaimList) []reconcile.Request {
	out := make([]reconcile.Request, 0, len(claims.Items))
	for i := range claims.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: claims.Items[i].Name}})
	}
	return out
}
