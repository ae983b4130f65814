package tailor

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	pluginmetrics "github.com/tailor-project/tailor/plugin/metrics"
	"github.com/tailor-project/tailor/plugin/preferences"
	"github.com/tailor-project/tailor/plugin/simulate"
	"github.com/tailor-project/tailor/plugin/solver"
	"github.com/tailor-project/tailor/plugin/volumetopology"
)

// world is one reading of the cluster that batches are solved against (see
// plan): the pools, the snapshot and its simulator, the room left on
// in-flight claims and, for displaced pods, on the running nodes. Reading it
// costs far more than solving a few pods against it (the snapshot holds
// every pod of the cluster), so the disruption loop reads it once per
// search and solves each displacement against it, without that
// displacement's nodes (session.go).
type world struct {
	set *poolSet
	// sim is nil when no pool can be used.
	sim      *simulate.Simulator
	inflight []*solver.InFlight
	// running is the room on the running nodes, when asked for.
	running []*solver.InFlight
	// volumes narrows where pods may go by where their volumes are.
	volumes volumetopology.Reader
	// preferences says whether pods' preferences decide what is bought.
	preferences preferences.Policy
}

// read reads the world less the nodes in without and their pods; with
// running, the running nodes' room too.
func (t *Tailor) read(ctx context.Context, without sets.Set[string], running bool) (*world, error) {
	var claims karpv1.NodeClaimList
	if err := t.objects.List(ctx, &claims); err != nil {
		return nil, fmt.Errorf("listing NodeClaims: %w", err)
	}
	return t.readWith(ctx, claims.Items, without, running)
}

// readWith is read with the claims read already.
func (t *Tailor) readWith(ctx context.Context, claims []karpv1.NodeClaim, without sets.Set[string], running bool) (*world, error) {
	set, err := t.loadPools(ctx, claims)
	if err != nil {
		return nil, err
	}
	return t.readIn(ctx, set, claims, without, running)
}

// readIn is readWith with the pools loaded already.
func (t *Tailor) readIn(ctx context.Context, set *poolSet, claims []karpv1.NodeClaim, without sets.Set[string], running bool) (*world, error) {
	w := &world{set: set, volumes: t.volumes, preferences: preferences.Policy(t.args.PreferencePolicy)}
	if len(set.pools) == 0 {
		return w, nil
	}
	snap, inflight, err := t.snapshot(set, claims, without)
	if err != nil {
		return nil, err
	}
	w.inflight = inflight
	if running {
		if w.running, err = t.runningRoom(set, without); err != nil {
			return nil, err
		}
		// The informers list in no order, and the solver fills the first
		// node with room: by name, a plan made again (to validate a
		// decision, say) decides the same.
		slices.SortFunc(w.running, func(a, b *solver.InFlight) int { return strings.Compare(a.Name, b.Name) })
	}
	prof, err := t.profile()
	if err != nil {
		return nil, err
	}
	if w.sim, err = simulate.New(ctx, t.registry, prof, snap); err != nil {
		return nil, err
	}
	return w, nil
}

// withVolumes narrows each pod with volumes to where its volumes are; the
// pods whose volumes cannot be read are refused, with why.
func (w *world) withVolumes(pods []*corev1.Pod) ([]*corev1.Pod, map[*corev1.Pod]error) {
	if w.volumes.Claims == nil {
		return pods, nil
	}
	var refused map[*corev1.Pod]error
	out, copied := pods, false
	for i, p := range pods {
		if !hasClaims(p) {
			continue
		}
		narrowed, err := w.volumes.Constrain(p)
		if narrowed == p && err == nil {
			continue
		}
		if !copied {
			// The caller's slice stays as it was.
			out, copied = slices.Clone(pods), true
		}
		if err != nil {
			if refused == nil {
				refused = map[*corev1.Pod]error{}
			}
			refused[p] = err
			out[i] = nil
			continue
		}
		out[i] = narrowed
	}
	if refused != nil {
		out = slices.DeleteFunc(out, func(p *corev1.Pod) bool { return p == nil })
	}
	return out, refused
}

// ebsVolumes counts a pod's EBS volumes for the solver; nil, counting none,
// when the plugin reads no volumes.
func (w *world) ebsVolumes() func(*corev1.Pod) int {
	if w.volumes.Claims == nil {
		return nil
	}
	return w.volumes.EBSVolumes
}

func hasClaims(p *corev1.Pod) bool {
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim != nil || v.Ephemeral != nil {
			return true
		}
	}
	return false
}

// solvePreferring solves pods with their preferences required, under the
// Respect policy, giving them up one at a time for the pods left unplaced
// (plugin/preferences). It returns what each pod placed gave up, by UID.
func (w *world) solvePreferring(pods []*corev1.Pod, without sets.Set[string], inflight []*solver.InFlight) (*solver.Result, map[types.UID][]string) {
	solve := func(pods []*corev1.Pod, wrap func(solver.Checker) solver.Checker) *solver.Result {
		return solver.Solve(solver.Input{Pods: pods, Pools: w.set.pools, InFlight: inflight, Checker: wrap(w.sim), EmptyDomains: true, EBSVolumes: w.ebsVolumes()})
	}
	reset := func() {
		// The rounds solve against the same snapshot, each from where the
		// first started.
		w.sim.Reset(without)
	}
	if snap := w.sim.Snapshot(); !snap.Frozen() && w.preferences != preferences.Ignore && slices.ContainsFunc(pods, func(p *corev1.Pod) bool { return preferences.Relaxable(p) > 0 }) {
		// Only a batch that may need a second round pays for the copies
		// a frozen snapshot makes.
		snap.Freeze()
	}
	return preferences.Solve(w.preferences, pods, solve, reset)
}

// solve solves pods against the world, on room of the running nodes not in
// without (the snapshot is the caller's to have taken them away).
func (w *world) solve(ctx context.Context, pods []*corev1.Pod, without sets.Set[string]) *batchPlan {
	plan := &batchPlan{set: w.set}
	if w.sim == nil {
		return plan
	}
	inflight := make([]*solver.InFlight, 0, len(w.running)+len(w.inflight))
	for _, r := range w.running {
		if !without.Has(r.Name) {
			inflight = append(inflight, r)
		}
	}
	inflight = append(inflight, w.inflight...)
	pods, refused := w.withVolumes(pods)
	solved := pluginmetrics.Solve(without.Len() > 0)
	plan.res, plan.gaveUp = w.solvePreferring(pods, without, inflight)
	solved()
	for p, err := range refused {
		plan.res.Unplaced[p] = err
	}
	klog.FromContext(ctx).V(1).Info("Batch solved", "pods", len(pods), "without", without.Len(), "newNodeClaims", len(plan.res.Nodes),
		"joinedInFlight", len(plan.res.Joined), "unplaced", len(plan.res.Unplaced), "hourlyPrice", fmt.Sprintf("%.4f", plan.res.Price()))
	return plan
}
