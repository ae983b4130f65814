package nodeclass

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/fieldindex"
)

// inUseRecheck is how often a class whose deletion waits on NodeClaims is
// looked at besides when a claim goes away, in case a deletion event was
// missed while the launcher was not leading.
const inUseRecheck = time.Minute

// finalize lets a deleted class go once no NodeClaim uses it, after
// deleting the launch templates and the instance profile made for it.
func (c *Controller) finalize(ctx context.Context, nc *ec2v1.EC2NodeClass) (reconcile.Result, error) {
	if !controllerutil.ContainsFinalizer(nc, Finalizer) {
		return reconcile.Result{}, nil
	}
	claims := &karpv1.NodeClaimList{}
	if err := c.Client.List(ctx, claims, client.MatchingFields{fieldindex.NodeClaimNodeClass: nc.Name}); err != nil {
		return reconcile.Result{}, fmt.Errorf("listing the NodeClaims of EC2NodeClass %s: %w", nc.Name, err)
	}
	if n := len(claims.Items); n > 0 {
		names := make([]string, 0, min(n, 5))
		for _, claim := range claims.Items[:min(n, 5)] {
			names = append(names, claim.Name)
		}
		if n > 5 {
			names = append(names, "...")
		}
		c.Recorder.Eventf(nc, corev1.EventTypeNormal, "WaitingOnNodeClaims",
			"EC2NodeClass is deleted once its %d NodeClaims are gone: %s", n, strings.Join(names, ", "))
		return reconcile.Result{RequeueAfter: inUseRecheck}, nil
	}
	deleted, err := c.Templates.DeleteForNodeClass(ctx, nc.Name)
	if err != nil {
		return reconcile.Result{}, err
	}
	if err := c.Resolver.DeleteInstanceProfile(ctx, nc); err != nil {
		return reconcile.Result{}, err
	}
	klog.FromContext(ctx).Info("Deleted what was made for the EC2NodeClass", "ec2NodeClass", nc.Name, "launchTemplates", deleted)
	patch := client.MergeFromWithOptions(nc.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(nc, Finalizer)
	if err := c.Client.Patch(ctx, nc, patch); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(fmt.Errorf("removing the finalizer of EC2NodeClass %s: %w", nc.Name, err))
	}
	return reconcile.Result{}, nil
}
