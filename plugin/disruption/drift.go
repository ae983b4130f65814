package disruption

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/klog/v2"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	pluginmetrics "github.com/tailor-project/tailor/plugin/metrics"
)

// ReasonReplacing is the event reason on a claim whose replacement is
// being launched.
const ReasonReplacing = "Replacing"

// ReasonDisruptionBlocked is the event reason on a claim the disruption
// loop would take away but may not yet.
const ReasonDisruptionBlocked = "DisruptionBlocked"

// Drift replaces the nodes whose claim is Drifted (the launcher decides
// drift: its pool or class changed, or what it was launched from is no
// longer selected). Replacement comes first: the node's pods are planned on
// the cluster without it, new claims are launched for what does not fit
// elsewhere, and only once every one of them is Initialized is the node
// tainted and its claim deleted for the launcher to drain. At most as many
// nodes of a pool are replaced at a time as its budgets for reason Drifted
// allow, and a node that says karpenter.sh/do-not-disrupt (or runs a pod
// that does) stays.
//
// The replacements carry tailor.sh/replacement-for, which is all the state:
// a replica that takes over finds them and waits for them, and a
// replacement that failed and was deleted is planned again.
type Drift struct {
	Env
	// told remembers what each claim was last told, to say it once.
	told map[string]string
}

// Reconcile implements Method.
func (d *Drift) Reconcile(ctx context.Context) error {
	if d.told == nil {
		d.told = map[string]string{}
	}
	var pools karpv1.NodePoolList
	if err := d.Objects.List(ctx, &pools); err != nil {
		return fmt.Errorf("listing NodePools: %w", err)
	}
	var claims karpv1.NodeClaimList
	if err := d.Objects.List(ctx, &claims); err != nil {
		return fmt.Errorf("listing NodeClaims: %w", err)
	}
	onNode, err := d.podsByNode()
	if err != nil {
		return err
	}
	replacements := replacementsOf(claims.Items)
	byPool := map[string][]*karpv1.NodeClaim{}
	for i := range claims.Items {
		nc := &claims.Items[i]
		byPool[nc.Labels[wellknown.NodePoolLabel]] = append(byPool[nc.Labels[wellknown.NodePoolLabel]], nc)
	}
	for i := range pools.Items {
		np := &pools.Items[i]
		if err := d.pool(ctx, np, byPool[np.Name], replacements, onNode); err != nil {
			klog.FromContext(ctx).Error(err, "Replacing drifted nodes", "nodePool", np.Name)
		}
	}
	return nil
}

func (d *Drift) pool(ctx context.Context, np *karpv1.NodePool, claims []*karpv1.NodeClaim, replacements map[string][]*karpv1.NodeClaim, onNode map[string][]*corev1.Pod) error {
	var drifted []*karpv1.NodeClaim
	disrupting := 0
	for _, nc := range claims {
		switch {
		case nc.DeletionTimestamp != nil:
			disrupting++
		case nc.Status.NodeName != "" && meta.IsStatusConditionTrue(nc.Status.Conditions, karpv1.ConditionTypeDrifted):
			drifted = append(drifted, nc)
			if len(replacements[nc.Name]) > 0 {
				disrupting++
			}
		}
	}
	if len(drifted) == 0 {
		return nil
	}
	budget, err := allowed(np, karpv1.DisruptionReasonDrifted, len(claims), d.Clock.Now())
	if err != nil {
		return err
	}
	budget -= disrupting
	// The longest drifted first.
	sort.Slice(drifted, func(i, j int) bool { return driftedSince(drifted[i]).Before(driftedSince(drifted[j])) })
	for _, nc := range drifted {
		if reps := replacements[nc.Name]; len(reps) > 0 {
			if err := d.finish(ctx, nc, reps); err != nil {
				return err
			}
			continue
		}
		if why := d.blocker(nc, onNode[nc.Status.NodeName]); why != "" {
			d.tell(nc, "Drifted but not replaced: "+why)
			continue
		}
		if budget <= 0 {
			d.tell(nc, fmt.Sprintf("Drifted but not replaced yet: NodePool %s's disruption budget for reason Drifted allows no more nodes now", np.Name))
			continue
		}
		if err := d.replace(ctx, nc); err != nil {
			return err
		}
		budget--
	}
	return nil
}

// replace plans the drifted node's pods without it and launches what they
// need; a node whose pods fit elsewhere goes at once.
func (d *Drift) replace(ctx context.Context, nc *karpv1.NodeClaim) error {
	plan, err := d.Planner.Displace(ctx, []string{nc.Status.NodeName})
	if err != nil {
		return err
	}
	if len(plan.Unplaced) > 0 {
		d.tell(nc, fmt.Sprintf("Drifted but not replaced: %d of its pods would find no room elsewhere: %v", len(plan.Unplaced), firstReason(plan.Unplaced)))
		return nil
	}
	why := driftReason(nc)
	pluginmetrics.Decided(len(plan.Nodes) > 0, pluginmetrics.ReasonDrifted, "")
	pluginmetrics.NodeClaimDisrupted(pluginmetrics.ReasonDrifted, nc, nil)
	if len(plan.Nodes) == 0 {
		klog.FromContext(ctx).Info("Drifted node goes: its pods fit on the other nodes", "nodeClaim", nc.Name, "reason", why)
		return d.retire(ctx, nc, fmt.Sprintf("Drifted (%s); its %d pods fit on the other nodes", why, len(plan.Pods)))
	}
	launched, err := d.Planner.Launch(ctx, plan, nc.Name)
	pluginmetrics.ReplacementsCreated(pluginmetrics.ReasonDrifted, plan.Nodes, len(launched))
	if err != nil {
		return err
	}
	delete(d.told, nc.Name)
	klog.FromContext(ctx).Info("Replacing a drifted node", "nodeClaim", nc.Name, "reason", why, "replacements", launched)
	d.Recorder.Eventf(nc, nil, corev1.EventTypeNormal, ReasonReplacing, "Replacing",
		"Drifted (%s): replacement NodeClaim %s launching ($%.4f/h); the node goes once it is initialized", why, strings.Join(launched, ", "), plan.Price)
	return nil
}

// finish retires the drifted node once all its replacements are initialized.
func (d *Drift) finish(ctx context.Context, nc *karpv1.NodeClaim, reps []*karpv1.NodeClaim) error {
	return d.retireReplaced(ctx, nc, reps, fmt.Sprintf("Drifted (%s)", driftReason(nc)))
}

// tell sends a claim an event once per distinct message.
func (d *Drift) tell(nc *karpv1.NodeClaim, msg string) {
	if d.told[nc.Name] == msg {
		return
	}
	d.told[nc.Name] = msg
	d.Recorder.Eventf(nc, nil, corev1.EventTypeNormal, ReasonDisruptionBlocked, "Disrupting", "%s", msg)
}

func driftedSince(nc *karpv1.NodeClaim) time.Time {
	if c := meta.FindStatusCondition(nc.Status.Conditions, karpv1.ConditionTypeDrifted); c != nil {
		return c.LastTransitionTime.Time
	}
	return nc.CreationTimestamp.Time
}

func driftReason(nc *karpv1.NodeClaim) string {
	if c := meta.FindStatusCondition(nc.Status.Conditions, karpv1.ConditionTypeDrifted); c != nil {
		return c.Reason
	}
	return "unknown"
}
