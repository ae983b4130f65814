package garbagecollection

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/instance"
	"github.com/tailor-project/tailor/launcher/tags"
)

// Defaults of Collector.
const (
	// DefaultInterval is how often EC2 and the API server are compared: a
	// leak costs money by the minute, and a comparison costs one paginated
	// DescribeInstances.
	DefaultInterval = 2 * time.Minute
	// DefaultGracePeriod protects what is being created: an instance whose
	// launch has not been recorded on its claim yet, a claim or node the
	// cache has not caught up with.
	DefaultGracePeriod = time.Minute
)

// Instances lists, describes and terminates the cluster's instances:
// *instance.Provider.
type Instances interface {
	List(ctx context.Context) ([]*instance.Instance, error)
	Get(ctx context.Context, id string) (*instance.Instance, error)
	Terminate(ctx context.Context, id string) error
}

// Collector compares EC2 with the API server and cleans up.
type Collector struct {
	Client    client.Client
	Instances Instances
	Recorder  record.EventRecorder
	Clock     clock.WithTicker
	// Interval is DefaultInterval when zero.
	Interval time.Duration
	// GracePeriod is DefaultGracePeriod when zero.
	GracePeriod time.Duration
}

// Start runs Collect every interval until ctx ends; it implements
// manager.Runnable.
func (c *Collector) Start(ctx context.Context) error {
	ticker := c.Clock.NewTicker(orDefault(c.Interval, DefaultInterval))
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C():
			if err := c.Collect(ctx); err != nil {
				klog.FromContext(ctx).Error(err, "Garbage collection failed; trying again next interval")
			}
		}
	}
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: only the
// leader may terminate instances.
func (c *Collector) NeedLeaderElection() bool { return true }

// Collect compares once and cleans up what it finds.
func (c *Collector) Collect(ctx context.Context) error {
	claims := &karpv1.NodeClaimList{}
	if err := c.Client.List(ctx, claims); err != nil {
		return fmt.Errorf("listing NodeClaims: %w", err)
	}
	instances, err := c.Instances.List(ctx)
	if err != nil {
		return err
	}
	return errors.Join(
		c.leakedInstances(ctx, claims.Items, instances),
		c.claimsWithoutInstance(ctx, claims.Items, instances),
		c.nodesWithoutClaim(ctx, claims.Items),
	)
}

// leakedInstances terminates the instances no claim accounts for: no claim
// of the name they are tagged with, or a claim that names another instance.
func (c *Collector) leakedInstances(ctx context.Context, claims []karpv1.NodeClaim, instances []*instance.Instance) error {
	byName := make(map[string]*karpv1.NodeClaim, len(claims))
	for i := range claims {
		byName[claims[i].Name] = &claims[i]
	}
	now := c.Clock.Now()
	var errs []error
	for _, inst := range instances {
		if now.Sub(inst.LaunchTime) < c.gracePeriod() {
			continue
		}
		claim := byName[inst.Tags[tags.NodeClaim]]
		if claim != nil && (claim.Status.ProviderID == "" || claim.Status.ProviderID == inst.ProviderID()) {
			continue
		}
		if err := c.Instances.Terminate(ctx, inst.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		why := fmt.Sprintf("no NodeClaim %s exists", inst.Tags[tags.NodeClaim])
		if claim != nil {
			why = fmt.Sprintf("NodeClaim %s names instance %s instead", claim.Name, claim.Status.ProviderID)
			c.Recorder.Eventf(claim, corev1.EventTypeWarning, "LeakedInstanceTerminated", "Terminated instance %s, tagged for this NodeClaim but not its own", inst.ID)
		}
		klog.FromContext(ctx).Info("Terminated leaked instance", "instance", inst.ID, "instanceType", inst.Type, "zone", inst.Zone, "launched", inst.LaunchTime, "why", why)
	}
	return errors.Join(errs...)
}

// claimsWithoutInstance deletes the launched claims whose instance EC2
// reports gone.
func (c *Collector) claimsWithoutInstance(ctx context.Context, claims []karpv1.NodeClaim, instances []*instance.Instance) error {
	live := make(map[string]bool, len(instances))
	for _, inst := range instances {
		live[inst.ProviderID()] = true
	}
	now := c.Clock.Now()
	var errs []error
	for i := range claims {
		claim := &claims[i]
		if claim.Status.ProviderID == "" || !claim.DeletionTimestamp.IsZero() || live[claim.Status.ProviderID] ||
			now.Sub(claim.CreationTimestamp.Time) < c.gracePeriod() {
			continue
		}
		id, err := instance.ParseProviderID(claim.Status.ProviderID)
		if err != nil {
			continue
		}
		// The list may have missed an instance launched since; ask for it.
		inst, err := c.Instances.Get(ctx, id)
		state := "gone"
		switch {
		case errors.Is(err, instance.ErrNotFound):
		case err != nil:
			errs = append(errs, err)
			continue
		case !inst.Gone():
			continue
		default:
			state = string(inst.State)
		}
		c.Recorder.Eventf(claim, corev1.EventTypeWarning, "InstanceGone", "Instance %s is %s; deleting the NodeClaim so that its pods find new capacity", id, state)
		if err := c.Client.Delete(ctx, claim, client.Preconditions{UID: &claim.UID}); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("deleting NodeClaim %s: %w", claim.Name, err))
		}
	}
	return errors.Join(errs...)
}

// nodesWithoutClaim deletes the Nodes Tailor linked to a claim (they carry
// its finalizer) whose claim is gone. Their deletion drains them and
// terminates their instance.
func (c *Collector) nodesWithoutClaim(ctx context.Context, claims []karpv1.NodeClaim) error {
	claimed := make(map[string]bool, len(claims))
	for _, claim := range claims {
		claimed[claim.Status.ProviderID] = true
	}
	nodes := &corev1.NodeList{}
	if err := c.Client.List(ctx, nodes); err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	now := c.Clock.Now()
	var errs []error
	for i := range nodes.Items {
		node := &nodes.Items[i]
		if !instance.IsEC2(node.Spec.ProviderID) || claimed[node.Spec.ProviderID] || !node.DeletionTimestamp.IsZero() ||
			!controllerutil.ContainsFinalizer(node, wellknown.TerminationFinalizer) || now.Sub(node.CreationTimestamp.Time) < c.gracePeriod() {
			continue
		}
		c.Recorder.Eventf(node, corev1.EventTypeWarning, "NodeClaimGone", "No NodeClaim has provider id %s any more; deleting the node", node.Spec.ProviderID)
		if err := c.Client.Delete(ctx, node, client.Preconditions{UID: &node.UID}); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("deleting node %s: %w", node.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Collector) gracePeriod() time.Duration {
	return orDefault(c.GracePeriod, DefaultGracePeriod)
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
