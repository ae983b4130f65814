package nodeclaim

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/hash"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/awserr"
	"github.com/tailor-project/tailor/launcher/backoff"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/launcher/fieldindex"
	"github.com/tailor-project/tailor/launcher/fleet"
	"github.com/tailor-project/tailor/launcher/nodeclass"
)

// Reasons of the Launched condition.
const (
	ReasonLaunched                  = "Launched"
	ReasonNodeClassNotFound         = "NodeClassNotFound"
	ReasonNodeClassNotReady         = "NodeClassNotReady"
	ReasonNoCompatibleInstanceTypes = "NoCompatibleInstanceTypes"
	ReasonLaunchFailed              = "LaunchFailed"
	ReasonThrottled                 = "Throttled"
)

// notLaunchableReasons are the Launched reasons after which a claim is
// given up: retrying cannot help, the scheduler has to decide again.
var notLaunchableReasons = map[string]bool{
	ReasonNoCompatibleInstanceTypes:  true,
	fleet.ReasonInsufficientCapacity: true,
	fleet.ReasonNoCompatibleAMI:      true,
	fleet.ReasonNoSubnet:             true,
	fleet.ReasonLaunchNotRepeatable:  true,
}

// Launcher launches the instance of a claim: *fleet.Launcher.
type Launcher interface {
	Launch(ctx context.Context, req fleet.Request) (*fleet.Result, error)
}

// Launch gives each NodeClaim its instance.
type Launch struct {
	Client client.Client
	// Reader reads claims from the API server, not the cache: a claim is
	// launched only when its latest version says it has not been, since an
	// update this controller just made may not have reached the cache.
	Reader   client.Reader
	Catalog  catalog.Catalog
	Launcher Launcher
	Recorder record.EventRecorder
	// Workers is how many claims are launched at once; 10 when zero.
	Workers int
}

// Reconcile implements reconcile.Reconciler.
func (l *Launch) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	claim := &karpv1.NodeClaim{}
	if err := l.Client.Get(ctx, req.NamespacedName, claim); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !launchable(claim) {
		return reconcile.Result{}, nil
	}
	if err := l.Reader.Get(ctx, req.NamespacedName, claim); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !launchable(claim) {
		return reconcile.Result{}, nil
	}
	// The finalizer goes on before anything is launched, so that a claim
	// with an instance always passes through termination.
	if !controllerutil.ContainsFinalizer(claim, wellknown.TerminationFinalizer) {
		before := claim.DeepCopy()
		controllerutil.AddFinalizer(claim, wellknown.TerminationFinalizer)
		if err := patchMetadata(ctx, l.Client, before, claim); err != nil {
			return requeueOnConflict(reconcile.Result{}, err)
		}
	}
	o := l.attempt(ctx, claim)
	// Labels and annotations first: a crash before the status is written
	// leaves a claim whose next attempt adopts the instance and writes
	// the status then.
	before := claim.DeepCopy()
	if o.metadata != nil {
		if err := o.metadata(claim); err != nil {
			return reconcile.Result{}, err
		}
		if err := patchMetadata(ctx, l.Client, before, claim); err != nil {
			return requeueOnConflict(reconcile.Result{}, errors.Join(o.err, err))
		}
	}
	before = claim.DeepCopy()
	initializeConditions(claim)
	if o.status != nil {
		o.status(claim)
	}
	if err := patchStatus(ctx, l.Client, before, claim); err != nil {
		return requeueOnConflict(reconcile.Result{}, errors.Join(o.err, err))
	}
	return reconcile.Result{}, o.err
}

// outcome is what an attempt to launch a claim decided: changes to the
// claim's metadata and status, and an error to retry with backoff.
type outcome struct {
	metadata func(*karpv1.NodeClaim) error
	status   func(*karpv1.NodeClaim)
	err      error
}

// launchable reports whether a claim is still to be launched.
func launchable(claim *karpv1.NodeClaim) bool {
	return claim.DeletionTimestamp.IsZero() && !isTrue(claim, karpv1.ConditionTypeLaunched) && !givenUp(claim)
}

// givenUp reports whether the claim failed in a way that retrying cannot
// mend; Liveness deletes it.
func givenUp(claim *karpv1.NodeClaim) bool {
	c := findCondition(claim, karpv1.ConditionTypeLaunched)
	return c != nil && c.Status == metav1.ConditionFalse && notLaunchableReasons[c.Reason]
}

// attempt launches the claim, or finds out why it cannot be launched now.
func (l *Launch) attempt(ctx context.Context, claim *karpv1.NodeClaim) outcome {
	nc, waiting := l.nodeClass(ctx, claim)
	if waiting != nil {
		return *waiting
	}
	types, err := l.instanceTypes(ctx, claim, nc)
	if err != nil {
		return outcome{err: err}
	}
	if len(types) == 0 {
		return l.notLaunched(claim, ReasonNoCompatibleInstanceTypes, fmt.Sprintf(
			"no instance type of EC2NodeClass %s meets the NodeClaim's requirements and holds its requests", nc.Name), nil)
	}
	result, err := l.Launcher.Launch(ctx, fleet.Request{NodeClaim: claim, NodeClass: nc, InstanceTypes: types})
	var notLaunchable *fleet.NotLaunchableError
	switch {
	case errors.As(err, &notLaunchable):
		return l.notLaunched(claim, notLaunchable.Reason, notLaunchable.Error(), notLaunchable.Offerings)
	case awserr.IsThrottling(err):
		l.Recorder.Event(claim, corev1.EventTypeWarning, ReasonThrottled, "EC2 is throttling the launch; it is retried with backoff")
		return outcome{err: err, status: launchedCondition(metav1.ConditionFalse, ReasonThrottled, err.Error())}
	case err != nil:
		l.Recorder.Eventf(claim, corev1.EventTypeWarning, ReasonLaunchFailed, "Launch failed, retried with backoff: %v", err)
		return outcome{err: err, status: launchedCondition(metav1.ConditionFalse, ReasonLaunchFailed, err.Error())}
	}
	return l.launched(claim, nc, result)
}

func launchedCondition(status metav1.ConditionStatus, reason, message string) func(*karpv1.NodeClaim) {
	return func(claim *karpv1.NodeClaim) {
		setCondition(claim, karpv1.ConditionTypeLaunched, status, reason, message)
	}
}

// nodeClass returns the claim's class when it is Ready, and otherwise the
// outcome of a claim that waits for it; the class's next change brings the
// claim back.
func (l *Launch) nodeClass(ctx context.Context, claim *karpv1.NodeClaim) (*ec2v1.EC2NodeClass, *outcome) {
	ref := claim.Spec.NodeClassRef
	if ref.Kind != "EC2NodeClass" || ref.Group != ec2v1.GroupVersion.Group {
		return nil, l.wait(claim, ReasonNodeClassNotFound, fmt.Sprintf(
			"nodeClassRef names a %s of group %s; this launcher builds nodes from EC2NodeClasses of %s", ref.Kind, ref.Group, ec2v1.GroupVersion.Group))
	}
	nc := &ec2v1.EC2NodeClass{}
	err := l.Client.Get(ctx, types.NamespacedName{Name: ref.Name}, nc)
	switch {
	case apierrors.IsNotFound(err):
		return nil, l.wait(claim, ReasonNodeClassNotFound, fmt.Sprintf("EC2NodeClass %s does not exist", ref.Name))
	case err != nil:
		return nil, &outcome{err: fmt.Errorf("reading EC2NodeClass %s: %w", ref.Name, err)}
	case !nc.DeletionTimestamp.IsZero():
		return nil, l.wait(claim, ReasonNodeClassNotReady, fmt.Sprintf("EC2NodeClass %s is being deleted", nc.Name))
	}
	if ready, why := nodeclass.IsReady(nc); !ready {
		return nil, l.wait(claim, ReasonNodeClassNotReady, fmt.Sprintf("EC2NodeClass %s is not ready: %s", nc.Name, why))
	}
	return nc, nil
}

// wait is the outcome of a claim that waits for its class, with an event
// when the reason it waits for is new.
func (l *Launch) wait(claim *karpv1.NodeClaim, reason, message string) *outcome {
	if c := findCondition(claim, karpv1.ConditionTypeLaunched); c == nil || c.Reason != reason || c.Message != message {
		l.Recorder.Event(claim, corev1.EventTypeWarning, reason, "Waiting to launch: "+message)
	}
	return &outcome{status: launchedCondition(metav1.ConditionFalse, reason, message)}
}

// notLaunched gives the claim up, recording the offerings that failed;
// Liveness deletes it after a backoff.
func (l *Launch) notLaunched(claim *karpv1.NodeClaim, reason, message string, offerings []fleet.Offering) outcome {
	if len(offerings) > 0 {
		l.Recorder.Eventf(claim, corev1.EventTypeWarning, "OfferingsUnavailable",
			"EC2 refused %d offerings for lack of capacity; they are skipped for a while", len(offerings))
	}
	l.Recorder.Eventf(claim, corev1.EventTypeWarning, reason, "Cannot launch: %s; the NodeClaim is deleted so that the scheduler decides again", message)
	return outcome{
		metadata: func(claim *karpv1.NodeClaim) error { return recordUnavailable(claim, offerings) },
		status:   launchedCondition(metav1.ConditionFalse, reason, message),
	}
}

// launched is the outcome of a launch: the labels of the instance's type,
// zone and capacity type on the claim, and in its status the provider id,
// image and resources.
func (l *Launch) launched(claim *karpv1.NodeClaim, nc *ec2v1.EC2NodeClass, result *fleet.Result) outcome {
	inst := result.Instance
	how := "Launched"
	if result.Adopted {
		how = "Found the instance an earlier attempt launched:"
	}
	l.Recorder.Eventf(claim, corev1.EventTypeNormal, ReasonLaunched, "%s %s (%s, %s, %s)", how, inst.ID, inst.Type, inst.Zone, inst.CapacityType)
	return outcome{
		metadata: func(claim *karpv1.NodeClaim) error {
			if claim.Labels == nil {
				claim.Labels = map[string]string{}
			}
			if it := result.InstanceType; it != nil {
				for k, v := range it.Labels {
					claim.Labels[k] = v
				}
			}
			claim.Labels[wellknown.InstanceTypeLabel] = inst.Type
			claim.Labels[wellknown.ZoneLabel] = inst.Zone
			claim.Labels[wellknown.CapacityTypeLabel] = inst.CapacityType
			claim.Labels[wellknown.EC2NodeClassLabel] = nc.Name
			if inst.CapacityReservationID != "" {
				claim.Labels[wellknown.CapacityReservationIDLabel] = inst.CapacityReservationID
				// Which kind of reservation: a pool may select Capacity
				// Blocks, whose nodes go before the block ends.
				kind := cmp.Or(inst.CapacityReservationType, result.Offering.ReservationType, wellknown.CapacityReservationTypeDefault)
				claim.Labels[wellknown.CapacityReservationTypeLabel] = kind
			}
			if result.Offering.ZoneID != "" {
				claim.Labels[wellknown.TopologyZoneIDLabel] = result.Offering.ZoneID
			}
			// The hash of the class the instance is built from, against
			// which drift judges later changes of the class.
			metav1.SetMetaDataAnnotation(&claim.ObjectMeta, wellknown.NodeClassHashAnnotation, hash.EC2NodeClass(nc))
			metav1.SetMetaDataAnnotation(&claim.ObjectMeta, ec2v1.AnnotationEC2NodeClassHashVersion, hash.EC2NodeClassVersion)
			return recordUnavailable(claim, result.Unavailable)
		},
		status: func(claim *karpv1.NodeClaim) {
			claim.Status.ProviderID = inst.ProviderID()
			claim.Status.ImageID = inst.ImageID
			if it := result.InstanceType; it != nil {
				claim.Status.Capacity = it.Capacity.DeepCopy()
				claim.Status.Allocatable = it.Allocatable.DeepCopy()
			}
			setCondition(claim, karpv1.ConditionTypeLaunched, metav1.ConditionTrue, ReasonLaunched, "")
		},
	}
}

// SetupWithManager registers the controller. Claims waiting for their
// class are looked at again when the class changes.
func (l *Launch) SetupWithManager(mgr ctrl.Manager) error {
	workers := l.Workers
	if workers == 0 {
		workers = 10
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("nodeclaim.launch").
		For(&karpv1.NodeClaim{}).
		Watches(&ec2v1.EC2NodeClass{}, handler.EnqueueRequestsFromMapFunc(claimsOfClass(l.Client))).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers, RateLimiter: backoff.RateLimiter()}).
		Complete(l)
}

// claimsOfClass maps a class to its claims that are not launched yet.
func claimsOfClass(c client.Client) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		claims := &karpv1.NodeClaimList{}
		if err := c.List(ctx, claims, client.MatchingFields{fieldindex.NodeClaimNodeClass: o.GetName()}); err != nil {
			return nil
		}
		var out []reconcile.Request
		for i := range claims.Items {
			if !isTrue(&claims.Items[i], karpv1.ConditionTypeLaunched) {
				out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: claims.Items[i].Name}})
			}
		}
		return out
	}
}
