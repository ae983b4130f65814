package disruption

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

func TestAllowed(t *testing.T) {
	sched := func(s string) *string { return &s }
	hour := &metav1.Duration{Duration: time.Hour}
	// The seed's basic pool: 10% always, none 09:00-10:00 UTC on weekdays.
	seed := []karpv1.Budget{{Nodes: "10%"}, {Nodes: "0", Schedule: sched("0 9 * * MON-FRI"), Duration: hour}}
	monday := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name    string
		budgets []karpv1.Budget
		reason  karpv1.DisruptionReason
		nodes   int
		now     time.Time
		want    int
	}{
		{name: "no budget allows all", nodes: 7, now: monday(12, 0), want: 7},
		{name: "10% of 19 rounds up", budgets: seed, nodes: 19, now: monday(12, 0), want: 2},
		{name: "10% of 3 is 1", budgets: seed, nodes: 3, now: monday(12, 0), want: 1},
		{name: "the weekday window blocks at 09:30", budgets: seed, nodes: 19, now: monday(9, 30), want: 0},
		{name: "the window is over at 10:00", budgets: seed, nodes: 19, now: monday(10, 0), want: 2},
		{name: "not on Sunday", budgets: seed, nodes: 19, now: time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC), want: 2},
		{name: "a budget for other reasons does not apply", budgets: []karpv1.Budget{{Nodes: "0", Reasons: []karpv1.DisruptionReason{karpv1.DisruptionReasonDrifted}}},
			reason: karpv1.DisruptionReasonEmpty, nodes: 5, now: monday(12, 0), want: 5},
		{name: "a budget for this reason applies", budgets: []karpv1.Budget{{Nodes: "1", Reasons: []karpv1.DisruptionReason{karpv1.DisruptionReasonEmpty}}},
			reason: karpv1.DisruptionReasonEmpty, nodes: 5, now: monday(12, 0), want: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			np := &karpv1.NodePool{}
			np.Spec.Disruption.Budgets = tc.budgets
			reason := tc.reason
			if reason == "" {
				reason = karpv1.DisruptionReasonEmpty
			}
			got, err := allowed(np, reason, tc.nodes, tc.now)
			if err != nil || got != tc.want {
				t.Errorf("allowed = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}
