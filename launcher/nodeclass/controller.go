package nodeclass

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
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/backoff"
	"github.com/tailor-project/tailor/launcher/userdata"
)

// Finalizer keeps an EC2NodeClass until no NodeClaim uses it and what
// Tailor made for it in AWS is deleted.
const Finalizer = wellknown.AWSGroup + "/termination"

// DefaultRefreshInterval is how often a class is resolved again when nothing
// about it changes: often enough to pick up a new AMI behind an alias the
// same hour, rarely enough to cost a few calls per class per interval.
const DefaultRefreshInterval = 5 * time.Minute

// TemplateDeleter deletes the launch templates made for a class.
type TemplateDeleter interface {
	DeleteForNodeClass(ctx context.Context, nodeClass string) (int, error)
}

// Controller resolves EC2NodeClasses into their status, and finalizes them.
type Controller struct {
	Client    client.Client
	Resolver  *Resolver
	Templates TemplateDeleter
	Recorder  record.EventRecorder
	Clock     clock.PassiveClock
	// RefreshInterval is DefaultRefreshInterval when zero.
	RefreshInterval time.Duration
}

// Reconcile implements reconcile.Reconciler.
func (c *Controller) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	nc := &ec2v1.EC2NodeClass{}
	if err := c.Client.Get(ctx, req.NamespacedName, nc); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !nc.DeletionTimestamp.IsZero() {
		return c.finalize(ctx, nc)
	}
	if !controllerutil.ContainsFinalizer(nc, Finalizer) {
		patch := client.MergeFromWithOptions(nc.DeepCopy(), client.MergeFromWithOptimisticLock{})
		controllerutil.AddFinalizer(nc, Finalizer)
		if err := c.Client.Patch(ctx, nc, patch); err != nil {
			return reconcile.Result{}, fmt.Errorf("adding finalizer to EC2NodeClass %s: %w", nc.Name, err)
		}
	}
	return c.resolve(ctx, nc)
}

// part is one thing a class resolves to, with the condition that reports it.
type part struct {
	condition string
	resolve   func(context.Context, *ec2v1.EC2NodeClass) error
}

func (c *Controller) parts() []part {
	return []part{
		{ec2v1.ConditionTypeSubnetsReady, func(ctx context.Context, nc *ec2v1.EC2NodeClass) error {
			subnets, err := c.Resolver.Subnets(ctx, nc)
			if err == nil {
				nc.Status.Subnets = subnets
			}
			return err
		}},
		{ec2v1.ConditionTypeSecurityGroupsReady, func(ctx context.Context, nc *ec2v1.EC2NodeClass) error {
			groups, err := c.Resolver.SecurityGroups(ctx, nc)
			if err == nil {
				nc.Status.SecurityGroups = groups
			}
			return err
		}},
		{ec2v1.ConditionTypeAMIsReady, func(ctx context.Context, nc *ec2v1.EC2NodeClass) error {
			amis, err := c.Resolver.AMIs(ctx, nc, c.Clock.Now())
			if err == nil {
				nc.Status.AMIs = amis
			}
			return err
		}},
		{ec2v1.ConditionTypeInstanceProfileReady, func(ctx context.Context, nc *ec2v1.EC2NodeClass) error {
			profile, err := c.Resolver.InstanceProfile(ctx, nc)
			if err == nil {
				nc.Status.InstanceProfile = profile
			}
			return err
		}},
		{ConditionTypeValidationSucceeded, func(_ context.Context, nc *ec2v1.EC2NodeClass) error {
			family, err := Family(nc)
			if err != nil {
				return notReady("AMIFamilyUnknown", "%v", err)
			}
			if nc.Spec.UserData == nil {
				return nil
			}
			if err := userdata.Validate(family, *nc.Spec.UserData); err != nil {
				return notReady(reasonUserDataInvalid, "%v", err)
			}
			return nil
		}},
	}
}

// resolve brings the class's status up to date and says when to look again.
func (c *Controller) resolve(ctx context.Context, nc *ec2v1.EC2NodeClass) (reconcile.Result, error) {
	before := nc.DeepCopy()
	var failures []error
	for _, p := range c.parts() {
		err := p.resolve(ctx, nc)
		if nr, ok := asNotReady(err); ok {
			setCondition(nc, p.condition, metav1.ConditionFalse, nr.reason, nr.message)
			continue
		}
		if err != nil {
			failures = append(failures, err)
			// A failed call says nothing about the class: a part that
			// resolved before keeps what it resolved to, and only a part
			// that never did reports the failure.
			if !meta.IsStatusConditionTrue(nc.Status.Conditions, p.condition) {
				setCondition(nc, p.condition, metav1.ConditionFalse, reasonResolutionFailed, err.Error())
			}
			continue
		}
		setCondition(nc, p.condition, metav1.ConditionTrue, reasonResolved, "")
	}
	if err := c.resolveCapacityReservations(ctx, nc); err != nil {
		failures = append(failures, err)
	}
	setReady(nc)
	c.recordTransitions(before, nc)
	if !equality.Semantic.DeepEqual(before.Status, nc.Status) {
		if err := c.Client.Status().Patch(ctx, nc, client.MergeFrom(before)); err != nil {
			return reconcile.Result{}, fmt.Errorf("updating the status of EC2NodeClass %s: %w", nc.Name, err)
		}
	}
	if len(failures) > 0 {
		return reconcile.Result{}, fmt.Errorf("resolving EC2NodeClass %s: %w", nc.Name, errors.Join(failures...))
	}
	return reconcile.Result{RequeueAfter: c.nextResolve(nc)}, nil
}

// nextResolve is when the class is resolved again: after the refresh
// interval, or sooner when one of its Capacity Blocks turns expiring before
// then, so that its status, and the offerings the catalogs build from it,
// stop offering the block the moment its nodes start to go.
func (c *Controller) nextResolve(nc *ec2v1.EC2NodeClass) time.Duration {
	next := c.refreshInterval()
	now := c.Clock.Now()
	for _, cr := range nc.Status.CapacityReservations {
		if cr.ReservationType != ec2v1.CapacityReservationTypeCapacityBlock || cr.EndTime == nil || cr.State == ec2v1.CapacityReservationStateExpiring {
			continue
		}
		if at := cr.EndTime.Add(-ec2v1.CapacityBlockExpiryLead).Sub(now); at < next {
			next = max(at, time.Second)
		}
	}
	return next
}

// resolveCapacityReservations puts the reservations the class selects in its
// status. They do not make the class Ready or not: a class whose
// reservations are used up or gone still launches on-demand and spot, and a
// term that selects nothing is told in an event. A failed call keeps what
// the status had.
func (c *Controller) resolveCapacityReservations(ctx context.Context, nc *ec2v1.EC2NodeClass) error {
	if len(nc.Spec.CapacityReservationSelectorTerms) == 0 {
		nc.Status.CapacityReservations = nil
		return nil
	}
	reservations, unmatched, err := c.Resolver.CapacityReservations(ctx, nc, c.Clock.Now())
	if err != nil {
		return err
	}
	expiringBefore := map[string]bool{}
	for _, cr := range nc.Status.CapacityReservations {
		expiringBefore[cr.ID] = cr.State == ec2v1.CapacityReservationStateExpiring
	}
	for _, cr := range reservations {
		if cr.State == ec2v1.CapacityReservationStateExpiring && !expiringBefore[cr.ID] {
			c.Recorder.Eventf(nc, corev1.EventTypeNormal, "CapacityBlockExpiring",
				"capacity block %s (%s in %s) ends at %s: no more nodes are launched into it, and its nodes are replaced",
				cr.ID, cr.InstanceType, cr.AvailabilityZone, cr.EndTime.UTC().Format(time.RFC3339))
		}
	}
	nc.Status.CapacityReservations = reservations
	if len(unmatched) > 0 {
		c.Recorder.Eventf(nc, corev1.EventTypeWarning, "CapacityReservationsNotFound",
			"no active capacity reservation matches %s", describeTerms(unmatched))
	}
	return nil
}

func (c *Controller) refreshInterval() time.Duration {
	if c.RefreshInterval > 0 {
		return c.RefreshInterval
	}
	return DefaultRefreshInterval
}

// recordTransitions emits an event for every condition whose status or
// reason changed, so that `kubectl describe` tells the story of a class.
func (c *Controller) recordTransitions(before, after *ec2v1.EC2NodeClass) {
	for _, t := range append([]string{ec2v1.ConditionTypeReady}, partConditions...) {
		now := meta.FindStatusCondition(after.Status.Conditions, t)
		was := meta.FindStatusCondition(before.Status.Conditions, t)
		if now == nil || was != nil && was.Status == now.Status && was.Reason == now.Reason {
			continue
		}
		switch {
		case now.Status == metav1.ConditionTrue && t == ec2v1.ConditionTypeReady:
			c.Recorder.Event(after, corev1.EventTypeNormal, "Ready", "EC2NodeClass is ready: "+now.Message)
		case now.Status != metav1.ConditionTrue && t != ec2v1.ConditionTypeReady:
			c.Recorder.Eventf(after, corev1.EventTypeWarning, now.Reason, "%s: %s", t, now.Message)
		}
	}
}

// SetupWithManager registers the controller. A class is resolved when its
// spec changes (its own status updates do not count) and when it is
// deleted, and is looked at again when one of its NodeClaims is deleted,
// which may be the last one its deletion waits for; other changes of claims
// do not concern it.
func (c *Controller) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("ec2nodeclass").
		For(&ec2v1.EC2NodeClass{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{RateLimiter: backoff.RateLimiter()}).
		Watches(&karpv1.NodeClaim{}, handler.EnqueueRequestsFromMapFunc(classOfClaim), builder.WithPredicates(predicate.Funcs{
			CreateFunc:  func(event.CreateEvent) bool { return false },
			UpdateFunc:  func(event.UpdateEvent) bool { return false },
			GenericFunc: func(event.GenericEvent) bool { return false },
		})).
		Complete(c)
}

func classOfClaim(_ context.Context, o client.Object) []reconcile.Request {
	claim, ok := o.(*karpv1.NodeClaim)
	if !ok || claim.Spec.NodeClassRef == nil {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: claim.Spec.NodeClassRef.Name}}}
}
