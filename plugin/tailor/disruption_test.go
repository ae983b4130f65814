package tailor_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/disruption"
)

// The test plays the launcher: it launches claims (env.launch) and marks
// them Drifted, as the launcher's drift controller does; the plugin's
// disruption loop decides the rest.

// TestDriftedNodeIsReplacedFirst: a drifted node's pods get a replacement
// planned by the provisioning path; the node stays until the replacement is
// initialized, then it is tainted and its claim deleted.
func TestDriftedNodeIsReplacedFirst(t *testing.T) {
	e := newEnv(t, "01-nodepool-basic.yaml")
	e.budgets(karpv1.Budget{Nodes: "100%"})
	old, node := e.launchedWith("drifting", 3)

	e.markDrifted(old.Name, "NodePoolDrifted")
	replacement := e.replacementOf(old.Name)
	// Not before the replacement is initialized.
	time.Sleep(2 * time.Second)
	if err := e.client.Get(e.ctx, client.ObjectKeyFromObject(old), &karpv1.NodeClaim{}); err != nil {
		t.Fatalf("the drifted claim went before its replacement was up: %v", err)
	}
	if cpu := replacement.Spec.Resources.Requests.Cpu(); cpu.MilliValue() < 3000 {
		t.Errorf("the replacement requests %s cpu for 3 pods of 1 cpu", cpu)
	}

	e.launch(replacement)
	e.gone(old.Name, "drifted claim %s was not deleted once its replacement was initialized")
	tainted, err := e.kube.CoreV1().Nodes().Get(e.ctx, node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasTaint(tainted, wellknown.DisruptedTaintKey) {
		t.Errorf("node %s was not tainted %s before its claim was deleted: %v", node, wellknown.DisruptedTaintKey, tainted.Spec.Taints)
	}
	e.claimEvent(old.Name, disruption.ReasonDisrupting, "replaced by NodeClaim "+replacement.Name)
}

// TestDriftBudgetAndDoNotDisrupt: a budget of no node for reason Drifted
// holds drift replacement back, and so does a do-not-disrupt pod; each says
// why on the claim.
func TestDriftBudgetAndDoNotDisrupt(t *testing.T) {
	e := newEnv(t, "01-nodepool-basic.yaml")
	e.budgets(karpv1.Budget{Nodes: "0", Reasons: []karpv1.DisruptionReason{karpv1.DisruptionReasonDrifted}})
	held, _ := e.launchedWith("held", 1)
	e.markDrifted(held.Name, "NodePoolDrifted")
	e.claimEvent(held.Name, disruption.ReasonDisruptionBlocked, "disruption budget for reason Drifted")

	e.budgets(karpv1.Budget{Nodes: "100%"})
	kept, _ := e.launchedWith("kept", 1, func(p *corev1.Pod) {
		p.Annotations = map[string]string{wellknown.DoNotDisruptAnnotation: "true"}
	})
	e.markDrifted(kept.Name, "NodePoolDrifted")
	e.claimEvent(kept.Name, disruption.ReasonDisruptionBlocked, "is annotated "+wellknown.DoNotDisruptAnnotation)
	// The budget now lets the first one go.
	e.replacementOf(held.Name)
	for _, r := range e.claims() {
		if r.Annotations[disruption.ReplacementForAnnotation] == kept.Name {
			t.Errorf("claim %s replaces %s, whose pod says do-not-disrupt", r.Name, kept.Name)
		}
	}
}

// TestDeletedNodeGetsCapacityAtOnce: a claim deleted by someone else (an
// interruption, expiry, a user) gets capacity for its pods planned while it
// drains, once.
func TestDeletedNodeGetsCapacityAtOnce(t *testing.T) {
	e := newEnv(t, "01-nodepool-basic.yaml")
	old, _ := e.launchedWith("evicted", 2)
	// The launcher's finalizer holds a claim being deleted while it drains.
	old.Finalizers = []string{"test.tailor.sh/draining"}
	if err := e.client.Update(e.ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := e.client.Delete(e.ctx, old); err != nil {
		t.Fatal(err)
	}
	e.replacementOf(old.Name)
	e.claimEvent(old.Name, disruption.ReasonReplacementPlanned, "being launched before it goes")
	got := &karpv1.NodeClaim{}
	if err := e.client.Get(e.ctx, client.ObjectKeyFromObject(old), got); err != nil {
		t.Fatal(err)
	}
	if got.Annotations[disruption.PrespunAnnotation] == "" {
		t.Errorf("claim %s is not marked %s: a second pass could buy again", old.Name, disruption.PrespunAnnotation)
	}
	time.Sleep(6 * time.Second)
	n := 0
	for _, r := range e.claims() {
		if r.Annotations[disruption.ReplacementForAnnotation] == old.Name {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d replacements for %s, want 1", n, old.Name)
	}
	got.Finalizers = nil
	if err := e.client.Update(e.ctx, got); err != nil {
		t.Fatal(err)
	}
}

// budgets sets the default pool's budgets, and a consolidateAfter long
// enough that emptiness stays out of the way.
func (e *env) budgets(b ...karpv1.Budget) {
	e.t.Helper()
	err := wait.PollUntilContextTimeout(e.ctx, 100*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		np := e.nodePool("default")
		np.Spec.Disruption.Budgets = b
		np.Spec.Disruption.ConsolidateAfter = karpv1.MustParseNillableDuration("10m")
		err := e.client.Update(ctx, np)
		return err == nil, client.IgnoreNotFound(nil)
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// launchedWith makes n pods of 1 cpu that share one claim, launches it, and
// waits for the pods to bind to its node.
func (e *env) launchedWith(name string, n int, mutate ...func(*corev1.Pod)) (*karpv1.NodeClaim, string) {
	e.t.Helper()
	return e.launchedSized(name, n, "1", mutate...)
}

// launchedSized is launchedWith for pods of the cpu given.
func (e *env) launchedSized(name string, n int, cpu string, mutate ...func(*corev1.Pod)) (*karpv1.NodeClaim, string) {
	e.t.Helper()
	pods := e.pods(name, n, cpu, mutate...)
	var mine *karpv1.NodeClaim
	for _, nc := range e.claimsFor(pods) {
		if strings.Contains(nc.Annotations["tailor.sh/reserved-for"], string(pods[0].UID)) {
			mine = nc.DeepCopy()
		}
	}
	if mine == nil {
		e.t.Fatalf("no claim records pod %s", pods[0].Name)
	}
	node := e.launch(mine)
	for _, p := range pods {
		if got := e.boundTo(p); got != node.Name {
			e.t.Fatalf("pod %s bound to %s, not to its claim's node %s", p.Name, got, node.Name)
		}
	}
	if err := e.client.Get(e.ctx, client.ObjectKeyFromObject(mine), mine); err != nil {
		e.t.Fatal(err)
	}
	return mine, node.Name
}

// markDrifted sets a claim's Drifted condition, as the launcher does.
func (e *env) markDrifted(claim, reason string) {
	e.t.Helper()
	nc := &karpv1.NodeClaim{}
	if err := e.client.Get(e.ctx, client.ObjectKey{Name: claim}, nc); err != nil {
		e.t.Fatal(err)
	}
	meta.SetStatusCondition(&nc.Status.Conditions, metav1.Condition{Type: karpv1.ConditionTypeDrifted, Status: metav1.ConditionTrue, Reason: reason, Message: "test launcher"})
	if err := e.client.Status().Update(e.ctx, nc); err != nil {
		e.t.Fatal(err)
	}
}

// replacementOf waits for the claim that replaces another.
func (e *env) replacementOf(claim string) *karpv1.NodeClaim {
	e.t.Helper()
	var found *karpv1.NodeClaim
	err := wait.PollUntilContextTimeout(e.ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, nc := range e.claims() {
			if nc.Annotations[disruption.ReplacementForAnnotation] == claim {
				found = nc.DeepCopy()
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		e.t.Fatalf("no replacement for claim %s: %v; its events:\n%s", claim, err, e.claimEvents(claim))
	}
	return found
}

func (e *env) claims() []karpv1.NodeClaim {
	e.t.Helper()
	var list karpv1.NodeClaimList
	if err := e.client.List(e.ctx, &list); err != nil {
		e.t.Fatal(err)
	}
	return list.Items
}

// claimEvent waits for an event on a claim whose reason and note match.
func (e *env) claimEvent(claim, reason, noteContains string) {
	e.t.Helper()
	err := wait.PollUntilContextTimeout(e.ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := e.kube.EventsV1().Events("").List(ctx, metav1.ListOptions{FieldSelector: "regarding.name=" + claim + ",reason=" + reason})
		if err != nil {
			return false, err
		}
		for _, ev := range list.Items {
			if strings.Contains(ev.Note, noteContains) {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		e.t.Fatalf("no %s event on claim %s containing %q: %v; its events:\n%s", reason, claim, noteContains, err, e.claimEvents(claim))
	}
}

func (e *env) claimEvents(claim string) string {
	list, err := e.kube.EventsV1().Events("").List(context.Background(), metav1.ListOptions{FieldSelector: "regarding.name=" + claim})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, ev := range list.Items {
		fmt.Fprintf(&b, "  %s %s: %s\n", ev.Type, ev.Reason, ev.Note)
	}
	return b.String()
}

func hasTaint(n *corev1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}
