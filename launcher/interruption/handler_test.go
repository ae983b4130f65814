package interruption

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/fieldindex"
	"github.com/tailor-project/tailor/launcher/instance"
	"github.com/tailor-project/tailor/launcher/nodeclaim"
	"github.com/tailor-project/tailor/test/controlplane"
)

// eventLog records events as "<Kind> <type> <reason>".
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) Event(obj runtime.Object, eventtype, reason, _ string) {
	kind := fmt.Sprintf("%T", obj)
	switch obj.(type) {
	case *karpv1.NodeClaim:
		kind = "NodeClaim"
	case *corev1.Node:
		kind = "Node"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, kind+" "+eventtype+" "+reason)
}

func (l *eventLog) Eventf(obj runtime.Object, eventtype, reason, format string, args ...interface{}) {
	l.Event(obj, eventtype, reason, fmt.Sprintf(format, args...))
}

func (l *eventLog) AnnotatedEventf(obj runtime.Object, _ map[string]string, eventtype, reason, format string, args ...interface{}) {
	l.Eventf(obj, eventtype, reason, format, args...)
}

func (l *eventLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.events)
	slices.Sort(out)
	return out
}

// markLog records the offerings marked unavailable, as type/zone/capacity
// type/reason.
type markLog struct {
	mu     sync.Mutex
	marked sets.Set[string]
}

func (m *markLog) MarkUnavailable(_ context.Context, instanceType, zone, capacityType, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.marked.Insert(instanceType + "/" + zone + "/" + capacityType + "/" + reason)
}

// apiWorld is a real API server with the CRDs, read through a cache that
// has the launcher's indexes, as the manager's client reads.
type apiWorld struct {
	ctx    context.Context
	cached client.Client
	direct client.Client
}

func newAPIWorld(t *testing.T) *apiWorld {
	t.Helper()
	cp := controlplane.StartT(t, controlplane.Options{})
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := karpv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	informers, err := cache.New(cp.Config, cache.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := fieldindex.Register(ctx, informers); err != nil {
		t.Fatal(err)
	}
	if err := RegisterIndex(ctx, informers); err != nil {
		t.Fatal(err)
	}
	go func() { _ = informers.Start(ctx) }()
	if !informers.WaitForCacheSync(ctx) {
		t.Fatal("the cache did not sync")
	}
	direct, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	cached, err := client.New(cp.Config, client.Options{Scheme: scheme, Cache: &client.CacheOptions{Reader: informers}})
	if err != nil {
		t.Fatal(err)
	}
	return &apiWorld{ctx: ctx, cached: cached, direct: direct}
}

// claimSetup says what the claim of a case looks like.
type claimSetup struct {
	capacityType string
	// node registers a Node for the claim.
	node bool
	// deleting deletes the claim before the event (a finalizer keeps it).
	deleting bool
	grace    *metav1.Duration
}

// holdFinalizer keeps deleted claims visible to the assertions.
const holdFinalizer = "test.tailor.sh/hold"

// create makes a launched claim (and its node) for instance id in
// us-east-1a, as the launcher would have, and waits until the cache finds it
// by instance id.
func (w *apiWorld) create(t *testing.T, name, id string, s claimSetup) {
	t.Helper()
	claim := &karpv1.NodeClaim{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Finalizers: []string{holdFinalizer},
			Labels: map[string]string{
				wellknown.InstanceTypeLabel: "c6g.xlarge", wellknown.ZoneLabel: "us-east-1a", wellknown.CapacityTypeLabel: s.capacityType,
			},
		},
		Spec: karpv1.NodeClaimSpec{
			NodeClassRef: &karpv1.NodeClassReference{Group: "karpenter.k8s.aws", Kind: "EC2NodeClass", Name: "default"},
			Requirements: []karpv1.NodeSelectorRequirementWithMinValues{{
				Key: wellknown.CapacityTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{s.capacityType}}},
			TerminationGracePeriod: s.grace,
		},
	}
	if err := w.direct.Create(w.ctx, claim); err != nil {
		t.Fatal(err)
	}
	providerID := instance.ProviderID("us-east-1a", id)
	claim.Status.ProviderID = providerID
	if s.node {
		claim.Status.NodeName = "node-" + name
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: claim.Status.NodeName}, Spec: corev1.NodeSpec{ProviderID: providerID}}
		if err := w.direct.Create(w.ctx, node); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.direct.Status().Update(w.ctx, claim); err != nil {
		t.Fatal(err)
	}
	if s.deleting {
		if err := w.direct.Delete(w.ctx, claim); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the cache finds the claim by instance id", func() error {
		list := &karpv1.NodeClaimList{}
		if err := w.cached.List(w.ctx, list, client.MatchingFields{InstanceIDIndex: id}); err != nil {
			return err
		}
		if len(list.Items) != 1 || (s.deleting && list.Items[0].DeletionTimestamp.IsZero()) {
			return fmt.Errorf("found %d claims", len(list.Items))
		}
		if s.node {
			nodes := &corev1.NodeList{}
			if err := w.cached.List(w.ctx, nodes, client.MatchingFields{fieldindex.NodeProviderID: providerID}); err != nil || len(nodes.Items) != 1 {
				return fmt.Errorf("the node is not cached yet (%v)", err)
			}
		}
		return nil
	})
}

// TestNodeClaimHandler acts on claims of a real API server for every kind
// of event, handling each event twice: the copy must change nothing.
func TestNodeClaimHandler(t *testing.T) {
	w := newAPIWorld(t)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	spotDeadline := now.Add(2 * time.Minute).Format(time.RFC3339)
	tests := []struct {
		name  string
		kind  Kind
		state string
		setup claimSetup
		// noClaim sends the event about an instance no claim owns.
		noClaim bool
		// once handles the event a single time: a rebalance recommendation
		// leaves no state to tell a copy by (the consumer drops copies by
		// event id).
		once bool

		wantOutcome   Outcome
		wantReason    string
		wantTaint     bool
		wantDeleted   bool
		wantEvents    []string
		wantMarked    []string
		wantOffering  bool
		wantDeadline  string
		wantUntouched bool
	}{
		{
			name: "spot interruption warning", kind: KindSpotInterruption, setup: claimSetup{capacityType: "spot", node: true},
			wantOutcome: OutcomeHandled, wantReason: "SpotInterruption", wantTaint: true, wantDeleted: true,
			wantEvents:   []string{"Node Warning SpotInterruption", "NodeClaim Warning SpotInterruption"},
			wantMarked:   []string{"c6g.xlarge/us-east-1a/spot/SpotInterruption"},
			wantOffering: true, wantDeadline: spotDeadline,
		},
		{
			name: "spot warning, shorter termination grace period", kind: KindSpotInterruption,
			setup:       claimSetup{capacityType: "spot", node: true, grace: &metav1.Duration{Duration: 30 * time.Second}},
			wantOutcome: OutcomeHandled, wantReason: "SpotInterruption", wantTaint: true, wantDeleted: true,
			wantEvents:   []string{"Node Warning SpotInterruption", "NodeClaim Warning SpotInterruption"},
			wantMarked:   []string{"c6g.xlarge/us-east-1a/spot/SpotInterruption"},
			wantOffering: true, wantDeadline: now.Add(30 * time.Second).Format(time.RFC3339),
		},
		{
			name: "spot warning before the node registered", kind: KindSpotInterruption, setup: claimSetup{capacityType: "spot"},
			wantOutcome: OutcomeHandled, wantReason: "SpotInterruption", wantDeleted: true,
			wantEvents:   []string{"NodeClaim Warning SpotInterruption"},
			wantMarked:   []string{"c6g.xlarge/us-east-1a/spot/SpotInterruption"},
			wantOffering: true, wantDeadline: spotDeadline,
		},
		{
			name: "spot warning for a claim already being deleted", kind: KindSpotInterruption, setup: claimSetup{capacityType: "spot", node: true, deleting: true},
			wantOutcome: OutcomeIgnored, wantDeleted: true, wantUntouched: true,
			wantMarked: []string{"c6g.xlarge/us-east-1a/spot/SpotInterruption"},
		},
		{
			name: "scheduled change", kind: KindScheduledChange, setup: claimSetup{capacityType: "on-demand", node: true},
			wantOutcome: OutcomeHandled, wantReason: "ScheduledChange", wantTaint: true, wantDeleted: true,
			wantEvents: []string{"Node Warning ScheduledChange", "NodeClaim Warning ScheduledChange"},
		},
		{
			name: "stopped behind the launcher's back", kind: KindStateChange, state: "stopping", setup: claimSetup{capacityType: "on-demand", node: true},
			wantOutcome: OutcomeHandled, wantReason: "InstanceStopping", wantTaint: true, wantDeleted: true,
			wantEvents:   []string{"Node Warning InstanceStopping", "NodeClaim Warning InstanceStopping"},
			wantDeadline: now.Format(time.RFC3339),
		},
		{
			name: "terminated behind the launcher's back", kind: KindStateChange, state: "terminated", setup: claimSetup{capacityType: "spot", node: true},
			wantOutcome: OutcomeHandled, wantReason: "InstanceTerminated", wantTaint: true, wantDeleted: true,
			wantEvents:   []string{"Node Warning InstanceTerminated", "NodeClaim Warning InstanceTerminated"},
			wantDeadline: now.Format(time.RFC3339),
		},
		{
			name: "state change of a claim being deleted", kind: KindStateChange, state: "shutting-down", setup: claimSetup{capacityType: "spot", node: true, deleting: true},
			wantOutcome: OutcomeIgnored, wantDeleted: true, wantUntouched: true,
		},
		{
			name: "rebalance recommendation", kind: KindRebalanceRecommendation, setup: claimSetup{capacityType: "spot", node: true}, once: true,
			wantOutcome: OutcomeHandled, wantUntouched: true,
			wantEvents: []string{"Node Normal RebalanceRecommendation", "NodeClaim Normal RebalanceRecommendation"},
		},
		{
			name: "state change to running", kind: KindNoOp, state: "running", setup: claimSetup{capacityType: "spot", node: true},
			wantOutcome: OutcomeIgnored, wantUntouched: true,
		},
		{
			name: "instance no claim owns", kind: KindSpotInterruption, setup: claimSetup{capacityType: "spot", node: true}, noClaim: true,
			wantOutcome: OutcomeNoClaim, wantUntouched: true,
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("claim-%d", i)
			id := fmt.Sprintf("i-%017x", 0xabc000+i)
			w.create(t, name, id, tc.setup)
			events, marks := &eventLog{}, &markLog{marked: sets.New[string]()}
			h := &NodeClaimHandler{
				Client: w.cached, Reader: w.direct, Unavailable: marks, Recorder: events, Clock: clocktesting.NewFakePassiveClock(now),
			}
			msg := Message{ID: "event-" + name, Kind: tc.kind, InstanceIDs: []string{id}, Time: now, State: tc.state}
			if tc.kind == KindSpotInterruption {
				msg.Deadline = now.Add(spotInterruptionNotice)
			}
			if tc.noClaim {
				msg.InstanceIDs = []string{"i-0fffffffffffffff0"}
			}
			var before karpv1.NodeClaim
			if err := w.direct.Get(w.ctx, client.ObjectKey{Name: name}, &before); err != nil {
				t.Fatal(err)
			}

			outcome, err := h.Handle(w.ctx, msg)
			if err != nil || outcome != tc.wantOutcome {
				t.Fatalf("Handle = %s, %v; want %s", outcome, err, tc.wantOutcome)
			}
			if !tc.once {
				if _, err := h.Handle(w.ctx, msg); err != nil {
					t.Fatalf("handling a copy of the event: %v", err)
				}
			}

			var claim karpv1.NodeClaim
			if err := w.direct.Get(w.ctx, client.ObjectKey{Name: name}, &claim); err != nil {
				t.Fatal(err)
			}
			if got := !claim.DeletionTimestamp.IsZero(); got != tc.wantDeleted {
				t.Errorf("claim being deleted: %t, want %t", got, tc.wantDeleted)
			}
			cond := meta.FindStatusCondition(claim.Status.Conditions, karpv1.ConditionTypeInterrupted)
			switch {
			case tc.wantReason == "" && cond != nil:
				t.Errorf("condition %s set: %+v", karpv1.ConditionTypeInterrupted, cond)
			case tc.wantReason != "" && (cond == nil || cond.Status != metav1.ConditionTrue || cond.Reason != tc.wantReason):
				t.Errorf("condition %s is %+v, want True with reason %s", karpv1.ConditionTypeInterrupted, cond, tc.wantReason)
			}
			offerings, err := nodeclaim.UnavailableOfferings(&claim)
			if err != nil {
				t.Fatal(err)
			}
			wantOfferings := 0
			if tc.wantOffering {
				wantOfferings = 1
			}
			if len(offerings) != wantOfferings {
				t.Errorf("unavailable offerings on the claim: %+v, want %d", offerings, wantOfferings)
			}
			if tc.wantOffering && len(offerings) == 1 {
				o := offerings[0]
				if o.InstanceType != "c6g.xlarge" || o.Zone != "us-east-1a" || o.CapacityType != "spot" || o.Reason != "SpotInterruption" || !o.At.Equal(now) {
					t.Errorf("unavailable offering %+v, want c6g.xlarge in us-east-1a, spot, SpotInterruption, at %s", o, now)
				}
			}
			if got := claim.Annotations[wellknown.NodeClaimTerminationTimestampAnnotation]; got != tc.wantDeadline {
				t.Errorf("termination timestamp %q, want %q", got, tc.wantDeadline)
			}
			if tc.wantUntouched && (!equalConditions(before.Status.Conditions, claim.Status.Conditions) || !sameStrings(before.Annotations, claim.Annotations)) {
				t.Errorf("the claim changed: %+v, was %+v", claim, before)
			}
			if tc.setup.node {
				node := &corev1.Node{}
				if err := w.direct.Get(w.ctx, client.ObjectKey{Name: "node-" + name}, node); err != nil {
					t.Fatal(err)
				}
				tainted := 0
				for _, taint := range node.Spec.Taints {
					if taint.MatchTaint(&wellknown.DisruptedNoScheduleTaint) {
						tainted++
					}
				}
				if want := map[bool]int{true: 1, false: 0}[tc.wantTaint]; tainted != want {
					t.Errorf("node has %d %s taints, want %d: %v", tainted, wellknown.DisruptedNoScheduleTaint.ToString(), want, node.Spec.Taints)
				}
			}
			want := slices.Clone(tc.wantEvents)
			slices.Sort(want)
			if got := events.list(); !slices.Equal(got, want) {
				t.Errorf("events %v, want %v", got, want)
			}
			if got := sets.List(marks.marked); !slices.Equal(got, tc.wantMarked) {
				t.Errorf("catalog marked %v, want %v", got, tc.wantMarked)
			}
		})
	}
}

func equalConditions(a, b []metav1.Condition) bool {
	return slices.EqualFunc(a, b, func(x, y metav1.Condition) bool {
		return x.Type == y.Type && x.Status == y.Status && x.Reason == y.Reason && x.Message == y.Message
	})
}

func sameStrings(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
