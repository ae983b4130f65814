package preferences

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tailor-project/tailor/plugin/solver"
)

// MaxRounds bounds the solves of one batch that give up preferences: each
// round gives up one more preference of every pod left unplaced.
const MaxRounds = 8

// Solve solves pods with solve, their preferences required under the
// Respect policy, and again, after reset, with one preference fewer for
// each pod left unplaced, until every pod is placed, none has a preference
// left to give up, or MaxRounds. reset must return the simulation to where
// the first round started. It returns the last round's result and what
// each pod placed gave up, by UID.
//
// solve must judge through the Checker that wrap makes of its own: a pod
// is judged with its preferences required, but placed in the simulation as
// it is, since what it prefers binds only itself. Placed required, a pod
// that prefers to be alone in its zone would keep every pod like it out of
// that zone, which the scheduler would never do.
func Solve(policy Policy, pods []*corev1.Pod, solve func(pods []*corev1.Pod, wrap func(solver.Checker) solver.Checker) *solver.Result, reset func()) (*solver.Result, map[types.UID][]string) {
	relaxable := map[types.UID]int{}
	if policy != Ignore {
		for _, p := range pods {
			if n := Relaxable(p); n > 0 {
				relaxable[p.UID] = n
			}
		}
	}
	if len(relaxable) == 0 {
		return solve(pods, func(c solver.Checker) solver.Checker { return c }), nil
	}
	relaxed := map[types.UID]int{}
	for round := 0; ; round++ {
		if round > 0 {
			reset()
		}
		gaveUp := map[types.UID][]string{}
		strict := make([]*corev1.Pod, len(pods))
		original := make(map[*corev1.Pod]*corev1.Pod, len(relaxable))
		for i, p := range pods {
			var given []string
			strict[i], given = Required(p, relaxed[p.UID])
			if strict[i] != p {
				original[strict[i]] = p
			}
			if len(given) > 0 {
				gaveUp[p.UID] = given
			}
		}
		res := solve(strict, func(c solver.Checker) solver.Checker { return placedAsIs{Checker: c, original: original} })
		again := false
		for p := range res.Unplaced {
			if relaxed[p.UID] < relaxable[p.UID] {
				relaxed[p.UID]++
				again = true
			}
		}
		if !again || round+1 == MaxRounds {
			for p := range res.Unplaced {
				delete(gaveUp, p.UID)
			}
			return res, gaveUp
		}
	}
}

// placedAsIs places each pod in the simulation as it is, not as the copy
// with its preferences required that was judged.
type placedAsIs struct {
	solver.Checker
	original map[*corev1.Pod]*corev1.Pod
}

func (c placedAsIs) Placed(pod *corev1.Pod, n *solver.Node) {
	if p, ok := c.original[pod]; ok {
		pod = p
	}
	c.Checker.Placed(pod, n)
}
