package nodeclaim

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
)

// instanceTypes returns the instance types the claim allows, with the
// offerings it allows, that hold what it requests.
func (l *Launch) instanceTypes(ctx context.Context, claim *karpv1.NodeClaim, nc *ec2v1.EC2NodeClass) ([]*catalog.InstanceType, error) {
	// The catalog answers for a pool; the claim's requirements are the
	// pool's narrowed by the scheduler, so a pool of them asks the right
	// question. It is named after the claim's pool, so that the catalog
	// keeps one cache entry per pool.
	pool := &karpv1.NodePool{
		ObjectMeta: metav1.ObjectMeta{Name: claim.Labels[wellknown.NodePoolLabel]},
		Spec: karpv1.NodePoolSpec{Template: karpv1.NodeClaimTemplate{Spec: karpv1.NodeClaimTemplateSpec{
			Requirements: claim.Spec.Requirements,
		}}},
	}
	all, err := l.Catalog.InstanceTypes(ctx, pool, nc)
	if err != nil {
		return nil, fmt.Errorf("listing the instance types of NodeClaim %s: %w", claim.Name, err)
	}
	var out []*catalog.InstanceType
	for _, it := range all {
		if fits(claim.Spec.Resources.Requests, it.Allocatable) {
			out = append(out, it)
		}
	}
	return out, nil
}

// fits reports whether allocatable holds every request.
func fits(requests, allocatable corev1.ResourceList) bool {
	for name, q := range requests {
		if have, ok := allocatable[name]; q.Sign() > 0 && (!ok || have.Cmp(q) < 0) {
			return false
		}
	}
	return true
}
