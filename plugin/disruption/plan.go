package disruption

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/plugin/solver"
)

// Annotations that carry a replacement's state on the NodeClaims, so a
// replica that takes over the disruption Lease continues where the last one
// stopped instead of buying again.
const (
	// ReplacementForAnnotation on a NodeClaim names the claim it was bought
	// to replace; comma-separated, the claims, when it replaces several.
	ReplacementForAnnotation = "tailor.sh/replacement-for"
	// PrespunAnnotation on a NodeClaim being deleted says capacity for its
	// pods was planned already.
	PrespunAnnotation = "tailor.sh/prespun"
)

// Planner is the scheduler plugin's provisioning path seen from the
// disruption loop: the same snapshot, solver and Filter plugins, with the
// nodes about to go taken away. Disruption never models scheduling itself.
type Planner interface {
	// Displace plans where the pods of the nodes would run once the nodes
	// are gone: on the other nodes, on room left on in-flight claims, and
	// on new claims.
	Displace(ctx context.Context, nodes []string) (*Plan, error)
	// Launch creates the plan's new claims as replacements for a claim, or
	// for several, comma-separated.
	Launch(ctx context.Context, plan *Plan, replacing string) ([]string, error)
	// Price is what a launched claim costs an hour: its instance type's
	// offering in its zone and capacity type, or the price planned for it
	// when the catalog no longer offers that.
	Price(ctx context.Context, nc *karpv1.NodeClaim) (float64, error)
}

// Plan is what Displace decided.
type Plan struct {
	// Pods are the pods displaced: those that would come back elsewhere.
	Pods []*corev1.Pod
	// Nodes are the new claims needed, each with the pods planned on it.
	Nodes []*solver.Node
	// Unplaced are the pods that would find no room, with the reason.
	Unplaced map[*corev1.Pod]error
	// Price is the hourly price of the new claims.
	Price float64
}

// Reschedulable reports whether a pod on a node about to go would come back
// elsewhere and needs room there: not a DaemonSet or mirror pod (they come
// with every node), not finished, not already leaving.
func Reschedulable(p *corev1.Pod) bool {
	return !isDaemon(p) && p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}
