package disruption

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/klog/v2"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// retireReplaced retires a node once every claim bought to replace it is
// Initialized, and until then leaves it untouched: a replacement that fails
// to launch is deleted by the launcher, and the node stays as it was.
func (e *Env) retireReplaced(ctx context.Context, nc *karpv1.NodeClaim, reps []*karpv1.NodeClaim, why string) error {
	for _, r := range reps {
		if !meta.IsStatusConditionTrue(r.Status.Conditions, karpv1.ConditionTypeInitialized) {
			klog.FromContext(ctx).V(2).Info("Node waits for its replacement", "nodeClaim", nc.Name, "replacement", r.Name, "reason", why)
			return nil
		}
	}
	klog.FromContext(ctx).Info("Replacements initialized; the node goes", "nodeClaim", nc.Name, "replacements", names(reps), "reason", why)
	return e.retire(ctx, nc, fmt.Sprintf("%s; replaced by NodeClaim %s", why, strings.Join(names(reps), ", ")))
}
