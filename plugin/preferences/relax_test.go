package preferences

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/tailor-project/tailor/plugin/solver"
)

type recordingChecker struct{ placed []*corev1.Pod }

func (c *recordingChecker) Check(*corev1.Pod, *solver.Node) error { return nil }
func (c *recordingChecker) Opened(*solver.Node)                   {}
func (c *recordingChecker) Closed(*solver.Node)                   {}
func (c *recordingChecker) Placed(p *corev1.Pod, _ *solver.Node)  { c.placed = append(c.placed, p) }

// TestSolveRelaxesRoundByRound: a pod left unplaced gives up one more
// preference each round until it is placed; the simulation is reset before
// each round after the first; pods are judged strict but placed as they are.
func TestSolveRelaxesRoundByRound(t *testing.T) {
	p := preferring()
	plain := &corev1.Pod{}
	plain.Name, plain.UID = "plain", "plain"
	p.UID = "web-0"
	var rounds, resets int
	checker := &recordingChecker{}
	solve := func(pods []*corev1.Pod, wrap func(solver.Checker) solver.Checker) *solver.Result {
		rounds++
		res := &solver.Result{Unplaced: map[*corev1.Pod]error{}}
		for _, pod := range pods {
			// Placed once it gave up three preferences: pod affinity and
			// both anti-affinity terms.
			if pod.Name == "web-0" && pod.Spec.Affinity.PodAntiAffinity != nil && len(pod.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0 {
				res.Unplaced[pod] = errors.New("no room")
				continue
			}
			wrap(checker).Placed(pod, nil)
		}
		return res
	}
	res, gaveUp := Solve(Respect, []*corev1.Pod{p, plain}, solve, func() { resets++ })
	if len(res.Unplaced) != 0 || rounds != 4 || resets != 3 {
		t.Fatalf("%d unplaced after %d rounds and %d resets, want 0 after 4 and 3", len(res.Unplaced), rounds, resets)
	}
	if len(gaveUp["web-0"]) != 3 || gaveUp["plain"] != nil {
		t.Errorf("gave up %v", gaveUp)
	}
	// Placed in the last round: the pod as it is, with its preferences.
	last := checker.placed[len(checker.placed)-1]
	if last != p && last != plain {
		t.Errorf("the simulation was given a copy, %p, not the pod", last)
	}
	for _, placed := range checker.placed {
		if placed.Name == "web-0" && placed != p {
			t.Error("the strict copy of web-0 was placed in the simulation")
		}
	}

	rounds = 0
	if res, _ := Solve(Ignore, []*corev1.Pod{p}, solve, func() { resets++ }); rounds != 1 || len(res.Unplaced) != 0 {
		t.Errorf("Ignore solved %d times, %d unplaced; want once, the pod as it is", rounds, len(res.Unplaced))
	}
}
