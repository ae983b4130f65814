package tailor

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	resourcehelper "k8s.io/component-helpers/resource"
	corev1helper "k8s.io/kubernetes/pkg/apis/core/v1/helper"

	"github.com/tailor-project/tailor/apis/wellknown"
)

// A node bought for a pod can come up with less than the catalog promised:
// a GPU type booted from an image without the driver advertises no
// nvidia.com/gpu, a device plugin that never starts advertises nothing. The
// pod can then never run there, however long it waits, and deciding again
// as for a node whose room went to another pod would buy the same type
// again, without end. So the pod is decided again without that instance
// type, and after maxShortNodes such nodes it is told why and nothing more
// is bought for it.
const maxShortNodes = 3

// deviceGrace is how long a Ready node may take to advertise a resource a
// device plugin brings (nvidia.com/gpu, vpc.amazonaws.com/efa) before it is
// taken to never come: device plugins start after the node is Ready.
const deviceGrace = 5 * time.Minute

// ReasonNodeShort is the event reason on a pod whose node came up with less
// allocatable than it requests, even empty.
const ReasonNodeShort = "NodeShort"

// shortFor reports which of the pod's requests an empty node could not meet:
// the node advertises less than the pod asks for. "" when it could. early
// is true when all it lacks are device plugins' resources and the node has
// been Ready for less than deviceGrace: they may yet come.
func shortFor(node *corev1.Node, pod *corev1.Pod, now time.Time) (short string, early bool) {
	var lacking []string
	devicesOnly := true
	requests := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	for name, want := range requests {
		have := node.Status.Allocatable[name]
		if have.Cmp(want) < 0 {
			lacking = append(lacking, fmt.Sprintf("%s=%s, the pod requests %s", name, have.String(), want.String()))
			devicesOnly = devicesOnly && !corev1helper.IsNativeResource(name)
		}
	}
	if len(lacking) == 0 {
		return "", false
	}
	sort.Strings(lacking)
	return strings.Join(lacking, "; "), devicesOnly && now.Sub(readySince(node)) < deviceGrace
}

// readySince is when the node last became Ready.
func readySince(node *corev1.Node) time.Time {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// nodeCameShort remembers that a node of an instance type came up unable to
// take the pod, and tells the pod and the claim.
func (t *Tailor) nodeCameShort(pod *corev1.Pod, node *corev1.Node, claim, short string) {
	typ := node.Labels[wellknown.InstanceTypeLabel]
	t.mu.Lock()
	if !containsString(t.shortTypes[pod.UID], typ) {
		t.shortTypes[pod.UID] = append(t.shortTypes[pod.UID], typ)
	}
	n := len(t.shortTypes[pod.UID])
	t.mu.Unlock()
	msg := fmt.Sprintf("Node %s of NodeClaim %s (%s) advertises %s, even empty: the pod is decided again without %s (%d of %d such nodes)",
		node.Name, claim, typ, short, typ, n, maxShortNodes)
	t.handle.EventRecorder().Eventf(pod, nil, corev1.EventTypeWarning, ReasonNodeShort, "Provisioning", "%s", msg)
}

// withoutShortTypes keeps each pod off the instance types whose nodes came
// up short for it, by requiring their absence in a copy of the pod; pods
// that had maxShortNodes such nodes are told why nothing more is bought,
// and left out.
func (t *Tailor) withoutShortTypes(ctx context.Context, pods []*corev1.Pod) []*corev1.Pod {
	t.mu.Lock()
	short := make(map[types.UID][]string, len(t.shortTypes))
	for uid, typs := range t.shortTypes {
		short[uid] = typs
	}
	t.mu.Unlock()
	if len(short) == 0 {
		return pods
	}
	out := make([]*corev1.Pod, 0, len(pods))
	for _, p := range pods {
		typs := short[p.UID]
		switch {
		case len(typs) == 0:
			out = append(out, p)
		case len(typs) >= maxShortNodes:
			t.cannotProvision(ctx, p, fmt.Errorf("the nodes of %s bought for the pod came up advertising less than it requests (see its %s events): nothing more is bought for it; check the EC2NodeClass's AMI and the device plugins",
				strings.Join(typs, ", "), ReasonNodeShort))
		default:
			out = append(out, excludingTypes(p, typs))
		}
	}
	return out
}

// excludingTypes is a copy of the pod that requires an instance type other
// than typs, in each of its required node affinity terms.
func excludingTypes(p *corev1.Pod, typs []string) *corev1.Pod {
	out := p.DeepCopy()
	not := corev1.NodeSelectorRequirement{Key: wellknown.InstanceTypeLabel, Operator: corev1.NodeSelectorOpNotIn, Values: typs}
	if out.Spec.Affinity == nil {
		out.Spec.Affinity = &corev1.Affinity{}
	}
	if out.Spec.Affinity.NodeAffinity == nil {
		out.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	na := out.Spec.Affinity.NodeAffinity
	if na.RequiredDuringSchedulingIgnoredDuringExecution == nil || len(na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms) == 0 {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{}}}
	}
	for i := range na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		term := &na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[i]
		term.MatchExpressions = append(term.MatchExpressions, not)
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
