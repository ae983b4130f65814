package tailor

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	pluginmetrics "github.com/tailor-project/tailor/plugin/metrics"
	"github.com/tailor-project/tailor/plugin/reservation"
)

// watchClaims follows NodeClaims: a claim whose node is ready sends its
// pods to be scheduled; a claim that fails or goes away sends its pods to
// be decided again, and teaches the catalog what could not be launched.
func (t *Tailor) watchClaims(ctx context.Context) error {
	inf, err := t.cache.GetInformer(ctx, &karpv1.NodeClaim{})
	if err != nil {
		return fmt.Errorf("watching NodeClaims: %w", err)
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { t.onClaim(ctx, nil, obj) },
		UpdateFunc: func(old, obj interface{}) { t.onClaim(ctx, old, obj) },
		DeleteFunc: func(obj interface{}) { t.onClaimGone(ctx, obj) },
	})
	if err != nil {
		return fmt.Errorf("watching NodeClaims: %w", err)
	}
	nodes := t.handle.SharedInformerFactory().Core().V1().Nodes().Informer()
	_, err = nodes.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(interface{}) { t.nodes.Add(1) },
		DeleteFunc: func(interface{}) { t.nodes.Add(-1) },
	})
	if err != nil {
		return fmt.Errorf("watching nodes: %w", err)
	}
	pods := t.handle.SharedInformerFactory().Core().V1().Pods().Informer()
	_, err = pods.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		UpdateFunc: func(old, obj interface{}) { pluginmetrics.PodUpdated(old, obj); t.onPodUpdate(ctx, obj) },
		DeleteFunc: func(obj interface{}) { t.onPodGone(ctx, obj) },
	})
	if err != nil {
		return fmt.Errorf("watching pods: %w", err)
	}
	return nil
}

func (t *Tailor) onClaim(ctx context.Context, oldObj, obj interface{}) {
	nc, ok := obj.(*karpv1.NodeClaim)
	if !ok {
		return
	}
	if nc.DeletionTimestamp != nil {
		// Its pods may need capacity planned before the node goes.
		t.disruption.Wake()
		t.onClaimGone(ctx, nc)
		return
	}
	if nc.Status.ProviderID != "" {
		t.ledger.SetProviderID(nc.Name, nc.Status.ProviderID)
	}
	if nc.Status.NodeName != "" {
		t.ledger.SetNode(nc.Name, nc.Status.NodeName)
	}
	// A claim that launched after EC2 refused some of its offerings records
	// them; the next decision avoids them.
	t.learnUnavailable(ctx, nc)
	old, _ := oldObj.(*karpv1.NodeClaim)
	if initialized(nc) && (old == nil || !initialized(old)) {
		// The node is ready and its startup taints are gone: the pods bought
		// it for can bind now.
		t.activate(ctx, t.ledger.Waiting(nc.Name), "its node "+nc.Status.NodeName+" is ready")
	}
}

func initialized(nc *karpv1.NodeClaim) bool {
	return meta.IsStatusConditionTrue(nc.Status.Conditions, karpv1.ConditionTypeInitialized)
}

func (t *Tailor) onClaimGone(ctx context.Context, obj interface{}) {
	if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	nc, ok := obj.(*karpv1.NodeClaim)
	if !ok {
		return
	}
	t.learnUnavailable(ctx, nc)
	pods := t.ledger.Forget(nc.Name)
	if len(pods) == 0 {
		return
	}
	t.activate(ctx, podsAsReservations(nc.Name, pods), "its NodeClaim "+nc.Name+" is gone")
}

// learnUnavailable marks what the launcher found unavailable for a claim.
// The annotation stays on the claim and is read again on every resync and
// restart, so each refusal counts from when it happened: a refusal older
// than the catalog's TTL teaches nothing. An entry without a time (written
// by an older launcher) counts from the claim's creation, which is no later
// than the refusal.
func (t *Tailor) learnUnavailable(ctx context.Context, nc *karpv1.NodeClaim) {
	offerings, err := wellknown.ParseUnavailableOfferings(nc.Annotations)
	if err != nil {
		klog.FromContext(ctx).Error(err, "Reading the unavailable offerings of a NodeClaim", "nodeClaim", nc.Name)
		return
	}
	for _, o := range offerings {
		at := o.At
		if at.IsZero() {
			at = nc.CreationTimestamp.Time
		}
		t.catalog.MarkUnavailableAt(ctx, o.InstanceType, o.Zone, o.CapacityType, o.Reason, at)
	}
}

// onPodGone releases the reservation of a deleted pod, and withdraws a
// claim left with nothing to do.
func (t *Tailor) onPodGone(ctx context.Context, obj interface{}) {
	if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	t.forgetPod(p.UID)
	t.retries.Forget(refOf(p))
	if claim, unused := t.ledger.Release(p.UID); unused {
		go t.withdraw(ctx, claim)
	}
}

// activate moves waiting pods to the scheduler's active queue.
func (t *Tailor) activate(ctx context.Context, waiting []reservation.Reservation, why string) {
	if len(waiting) == 0 {
		return
	}
	lister := t.handle.SharedInformerFactory().Core().V1().Pods().Lister()
	pods := map[string]*corev1.Pod{}
	for _, r := range waiting {
		if p, err := lister.Pods(r.Pod.Namespace).Get(r.Pod.Name); err == nil && p.UID == r.Pod.UID && p.Spec.NodeName == "" {
			pods[podKey(p)] = p
		}
	}
	if len(pods) == 0 {
		return
	}
	logger := klog.FromContext(ctx)
	logger.V(2).Info("Moving pods to the active queue", "pods", len(pods), "because", why)
	t.handle.Activate(logger, pods)
}
