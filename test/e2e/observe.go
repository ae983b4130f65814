package e2e

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/instance"
	"github.com/tailor-project/tailor/plugin/tailor"
)

// lifecycle are the conditions a NodeClaim passes on its way to a node
// pods run on.
var lifecycle = []string{karpv1.ConditionTypeLaunched, karpv1.ConditionTypeRegistered, karpv1.ConditionTypeInitialized}

// claims lists the NodeClaims, by name.
func (e *env) claims() ([]karpv1.NodeClaim, error) {
	var list karpv1.NodeClaimList
	if err := e.client.List(e.ctx, &list); err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

// mustClaims is claims for code that cannot go on without them.
func (e *env) mustClaims() []karpv1.NodeClaim {
	e.t.Helper()
	claims, err := e.claims()
	if err != nil {
		e.t.Fatalf("listing NodeClaims: %v", err)
	}
	return claims
}

// tailorNodes lists the nodes of NodePools, by name.
func (e *env) tailorNodes() ([]corev1.Node, error) {
	list, err := e.kube.CoreV1().Nodes().List(e.ctx, metav1.ListOptions{LabelSelector: wellknown.NodePoolLabel})
	if err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

// claimOfNode maps node names to the claims linked to them.
func claimOfNode(claims []karpv1.NodeClaim) map[string]*karpv1.NodeClaim {
	out := map[string]*karpv1.NodeClaim{}
	for i := range claims {
		if n := claims[i].Status.NodeName; n != "" {
			out[n] = &claims[i]
		}
	}
	return out
}

// notThrough names the lifecycle conditions a claim has not passed.
func notThrough(nc *karpv1.NodeClaim) []string {
	var out []string
	for _, c := range lifecycle {
		if !meta.IsStatusConditionTrue(nc.Status.Conditions, c) {
			out = append(out, c)
		}
	}
	return out
}

// instanceIDs are the ids of the instances claims were launched as.
func instanceIDs(claims []karpv1.NodeClaim) sets.Set[string] {
	ids := sets.New[string]()
	for _, nc := range claims {
		if id, err := instance.ParseProviderID(nc.Status.ProviderID); err == nil {
			ids.Insert(id)
		}
	}
	return ids
}

// live reports whether an instance state is one that is paid for and may
// still become (or be) a node.
func live(state string) bool { return state == "pending" || state == "running" }

// noOrphanInstances waits until every pending or running instance of the
// simulated account belongs to a NodeClaim: an instance without one is
// paid for and never used, and nothing but garbage collection, minutes
// later, would end it.
func (e *env) noOrphanInstances() {
	e.t.Helper()
	e.eventually("every pending or running instance belongs to a NodeClaim", func() (bool, error) {
		claims, err := e.claims()
		if err != nil {
			return false, err
		}
		owned := instanceIDs(claims)
		var orphans []string
		for _, inst := range e.cluster.Simulator.Instances() {
			if live(inst.State) && !owned.Has(inst.ID) {
				orphans = append(orphans, fmt.Sprintf("%s (%s, %s, %s, %s)", inst.ID, inst.InstanceType, inst.Zone, inst.CapacityType, inst.State))
			}
		}
		if len(orphans) > 0 {
			return false, fmt.Errorf("instances without a NodeClaim: %s", strings.Join(orphans, ", "))
		}
		return true, nil
	})
}

// eventsAbout lists the events recorded about an object of the kind and
// name, in any namespace: the scheduler and the launcher record events on
// cluster-scoped NodeClaims in the default namespace.
func (e *env) eventsAbout(kind, name string) ([]corev1.Event, error) {
	list, err := e.kube.CoreV1().Events(metav1.NamespaceAll).List(e.ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=" + kind + ",involvedObject.name=" + name,
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return eventTime(list.Items[i]).Before(eventTime(list.Items[j])) })
	return list.Items, nil
}

// eventTime is when an event last happened, whichever API recorded it.
func eventTime(ev corev1.Event) time.Time {
	if !ev.LastTimestamp.IsZero() {
		return ev.LastTimestamp.Time
	}
	if !ev.EventTime.IsZero() {
		return ev.EventTime.Time
	}
	return ev.CreationTimestamp.Time
}

// eventWith returns the first event about the object with the reason whose
// message contains text, or false.
func (e *env) eventWith(kind, name, reason, text string) (corev1.Event, bool, error) {
	events, err := e.eventsAbout(kind, name)
	if err != nil {
		return corev1.Event{}, false, err
	}
	for _, ev := range events {
		if ev.Reason == reason && strings.Contains(ev.Message, text) {
			return ev, true, nil
		}
	}
	return corev1.Event{}, false, nil
}

// claimEvents lists the events about every NodeClaim that ever existed,
// including those deleted since, by claim name.
func (e *env) claimEvents() (map[string][]corev1.Event, error) {
	list, err := e.kube.CoreV1().Events(metav1.NamespaceAll).List(e.ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=NodeClaim"})
	if err != nil {
		return nil, err
	}
	out := map[string][]corev1.Event{}
	for _, ev := range list.Items {
		out[ev.InvolvedObject.Name] = append(out[ev.InvolvedObject.Name], ev)
	}
	return out, nil
}

// dump describes the cluster for a failure message: claims, nodes, pods
// (with the events of those not running), instances and faults.
func (e *env) dump() string {
	var b strings.Builder
	b.WriteString("--- NodeClaims\n")
	if claims, err := e.claims(); err != nil {
		fmt.Fprintf(&b, "  listing: %v\n", err)
	} else {
		for _, nc := range claims {
			fmt.Fprintf(&b, "  %s\n", describeClaim(&nc))
			if len(notThrough(&nc)) > 0 {
				writeEvents(&b, e, "NodeClaim", nc.Name)
			}
		}
	}
	b.WriteString("--- Nodes of NodePools\n")
	if nodes, err := e.tailorNodes(); err != nil {
		fmt.Fprintf(&b, "  listing: %v\n", err)
	} else {
		for _, n := range nodes {
			fmt.Fprintf(&b, "  %s\n", describeNode(&n))
		}
	}
	b.WriteString("--- Pods\n")
	if list, err := e.kube.CoreV1().Pods(namespace).List(e.ctx, metav1.ListOptions{}); err != nil {
		fmt.Fprintf(&b, "  listing: %v\n", err)
	} else {
		for _, p := range list.Items {
			fmt.Fprintf(&b, "  %s %s node=%q", p.Name, p.Status.Phase, p.Spec.NodeName)
			if p.DeletionTimestamp != nil {
				b.WriteString(" deleting")
			}
			b.WriteString("\n")
			if p.Status.Phase != corev1.PodRunning {
				writeEvents(&b, e, "Pod", p.Name)
			}
		}
	}
	b.WriteString("--- EC2 instances\n")
	for _, inst := range e.cluster.Simulator.Instances() {
		fmt.Fprintf(&b, "  %s %s %s %s %s joins=%t\n", inst.ID, inst.InstanceType, inst.Zone, inst.CapacityType, inst.State, inst.Joins)
	}
	fmt.Fprintf(&b, "--- faults: %s\n", e.cluster.Simulator.Faults())
	return b.String()
}

func writeEvents(b *strings.Builder, e *env, kind, name string) {
	events, err := e.eventsAbout(kind, name)
	if err != nil {
		fmt.Fprintf(b, "    events: %v\n", err)
		return
	}
	for _, ev := range events {
		fmt.Fprintf(b, "    %s %s: %s\n", ev.Type, ev.Reason, ev.Message)
	}
}

func describeClaim(nc *karpv1.NodeClaim) string {
	var conds []string
	for _, c := range nc.Status.Conditions {
		conds = append(conds, fmt.Sprintf("%s=%s(%s)", c.Type, c.Status, c.Reason))
	}
	s := fmt.Sprintf("%s pool=%s type=%s zone=%s capacity=%s planned=$%s node=%q provider=%q [%s]",
		nc.Name, nc.Labels[wellknown.NodePoolLabel], nc.Labels[wellknown.InstanceTypeLabel], nc.Labels[wellknown.ZoneLabel],
		nc.Labels[wellknown.CapacityTypeLabel], nc.Annotations[tailor.PriceAnnotation], nc.Status.NodeName, nc.Status.ProviderID,
		strings.Join(conds, " "))
	if nc.DeletionTimestamp != nil {
		s += " deleting"
	}
	return s
}

func describeNode(n *corev1.Node) string {
	var taints []string
	for _, t := range n.Spec.Taints {
		taints = append(taints, t.ToString())
	}
	return fmt.Sprintf("%s pool=%s type=%s zone=%s capacity=%s arch=%s taints=[%s]",
		n.Name, n.Labels[wellknown.NodePoolLabel], n.Labels[wellknown.InstanceTypeLabel], n.Labels[wellknown.ZoneLabel],
		n.Labels[wellknown.CapacityTypeLabel], n.Labels[wellknown.ArchLabel], strings.Join(taints, ","))
}
