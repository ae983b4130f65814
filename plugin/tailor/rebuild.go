package tailor

import (
	"context"
	"fmt"

	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/plugin/reservation"
)

// rebuild restores the ledger from the NodeClaims after a restart: each
// claim names the pods it was bought for, and those still pending get their
// reservation back, so a restarted scheduler waits for the claims it made
// instead of buying again.
func (t *Tailor) rebuild(ctx context.Context) error {
	pods := t.handle.SharedInformerFactory().Core().V1().Pods()
	if !toolscache.WaitForCacheSync(ctx.Done(), pods.Informer().HasSynced) {
		return fmt.Errorf("the pod informer did not sync")
	}
	var claims karpv1.NodeClaimList
	if err := t.objects.List(ctx, &claims); err != nil {
		return fmt.Errorf("listing NodeClaims: %w", err)
	}
	restored := 0
	for i := range claims.Items {
		nc := &claims.Items[i]
		if nc.DeletionTimestamp != nil {
			continue
		}
		recorded, err := reservation.Decode(nc.Annotations[reservation.Annotation])
		if err != nil {
			klog.FromContext(ctx).Error(err, "Skipping the reservations of a NodeClaim", "nodeClaim", nc.Name)
			continue
		}
		var waiting []reservation.Reservation
		for _, r := range recorded {
			p, err := pods.Lister().Pods(r.Namespace).Get(r.Name)
			if err != nil || p.UID != r.UID || p.Spec.NodeName != "" {
				continue
			}
			waiting = append(waiting, reservation.Reservation{Pod: r, Requests: requestsOf(p)})
		}
		if len(waiting) > 0 {
			t.ledger.Reserve(nc.Name, waiting...)
			restored += len(waiting)
		}
		if nc.Status.ProviderID != "" {
			t.ledger.SetProviderID(nc.Name, nc.Status.ProviderID)
		}
		if nc.Status.NodeName != "" {
			t.ledger.SetNode(nc.Name, nc.Status.NodeName)
		}
	}
	klog.FromContext(ctx).Info("Reservations rebuilt from NodeClaims", "nodeClaims", len(claims.Items), "pendingPods", restored)
	return nil
}
