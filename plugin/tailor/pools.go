package tailor

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/plugin/solver"
)

// poolSet is what the batch may buy from: each NodePool with its class and
// the instance types it allows.
type poolSet struct {
	pools   []*solver.Pool
	byName  map[string]*solver.Pool
	classes map[string]*ec2v1.EC2NodeClass
	// skipped says why a NodePool offers nothing, for the pods' events.
	skipped []string
}

// loadPools reads the NodePools, their classes and instance types, and what
// each pool's limits leave given the claims it has.
func (t *Tailor) loadPools(ctx context.Context, claims []karpv1.NodeClaim) (*poolSet, error) {
	var nps karpv1.NodePoolList
	if err := t.objects.List(ctx, &nps); err != nil {
		return nil, fmt.Errorf("listing NodePools: %w", err)
	}
	daemons, err := t.handle.SharedInformerFactory().Apps().V1().DaemonSets().Lister().List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing DaemonSets: %w", err)
	}
	set := &poolSet{byName: map[string]*solver.Pool{}, classes: map[string]*ec2v1.EC2NodeClass{}}
	for i := range nps.Items {
		np := &nps.Items[i]
		if np.DeletionTimestamp != nil {
			continue
		}
		ref := np.Spec.Template.Spec.NodeClassRef
		class := &ec2v1.EC2NodeClass{}
		if err := t.objects.Get(ctx, client.ObjectKey{Name: ref.Name}, class); err != nil {
			set.skipped = append(set.skipped, fmt.Sprintf("NodePool %s: its EC2NodeClass %s cannot be read: %v", np.Name, ref.Name, err))
			continue
		}
		// A class the launcher could not resolve (no subnet, no AMI, ...)
		// launches nothing: a claim for it would wait forever. One not
		// resolved yet is used, and its claims wait for it.
		if c := meta.FindStatusCondition(class.Status.Conditions, ec2v1.ConditionTypeReady); c != nil && c.Status == metav1.ConditionFalse {
			set.skipped = append(set.skipped, fmt.Sprintf("NodePool %s: its EC2NodeClass %s is not ready: %s", np.Name, ref.Name, c.Message))
			continue
		}
		types, err := t.catalog.InstanceTypes(ctx, np, class)
		if err != nil {
			set.skipped = append(set.skipped, fmt.Sprintf("NodePool %s: %v", np.Name, err))
			continue
		}
		p := &solver.Pool{
			NodePool:       np,
			Requirements:   requirements.FromNodePool(np),
			InstanceTypes:  types,
			DaemonOverhead: solver.DaemonOverhead(np, daemons),
			Remaining:      remaining(np, claims, types),
			// The mappings the launcher gives the claim's instance.
			ExtraBlockDevices: catalog.ExtraBlockDevices(class),
		}
		set.pools = append(set.pools, p)
		set.byName[np.Name] = p
		set.classes[np.Name] = class
	}
	klog.FromContext(ctx).V(4).Info("NodePools for the batch", "pools", len(set.pools), "skipped", set.skipped)
	return set, nil
}

// remaining is what the pool's limits leave after its claims: each counts
// one node and its capacity, as launched or, before launch, that of the
// largest type it may become, resource by resource, since the launcher may
// pick any of them.
func remaining(np *karpv1.NodePool, claims []karpv1.NodeClaim, types []*catalog.InstanceType) corev1.ResourceList {
	if len(np.Spec.Limits) == 0 {
		return nil
	}
	byName := make(map[string]*catalog.InstanceType, len(types))
	for _, it := range types {
		byName[it.Name] = it
	}
	left := corev1.ResourceList{}
	for name, q := range np.Spec.Limits {
		left[name] = q.DeepCopy()
	}
	one := *resource.NewQuantity(1, resource.DecimalSI)
	for i := range claims {
		c := &claims[i]
		if c.Labels[wellknown.NodePoolLabel] != np.Name {
			continue
		}
		capacity := c.Status.Capacity
		if len(capacity) == 0 {
			capacity = largestOffered(c, byName)
		}
		counted := corev1.ResourceList{solver.ResourceNodes: one}
		for name, q := range capacity {
			counted[name] = q
		}
		for name, q := range counted {
			if l, ok := left[name]; ok {
				l.Sub(q)
				left[name] = l
			}
		}
	}
	return left
}

// largestOffered is, resource by resource, the most capacity any of the
// types a claim offers has.
func largestOffered(c *karpv1.NodeClaim, byName map[string]*catalog.InstanceType) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, r := range c.Spec.Requirements {
		if r.Key != wellknown.InstanceTypeLabel || r.Operator != corev1.NodeSelectorOpIn {
			continue
		}
		for _, name := range r.Values {
			it := byName[name]
			if it == nil {
				continue
			}
			for res, q := range it.Capacity {
				if have, ok := out[res]; !ok || q.Cmp(have) > 0 {
					out[res] = q.DeepCopy()
				}
			}
		}
	}
	return out
}
