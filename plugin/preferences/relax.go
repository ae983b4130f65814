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
func Solve(policy Policy, pods []*corev1.Pod, solve func([]*corev1.Pod) *solver.Result, reset func()) (*solver.Result, map[types.UID][]string) {
	relaxable := map[types.UID]int{}
	if policy != Ignore {
		for _, p := range pods {
			if n := Relaxable(p); n > 0 {
				relaxable[p.UID] = n
			}
		}
	}
	if len(relaxable) == 0 {
		return solve(pods), nil
	}
	relaxed := map[types.UID]int{}
	for round := 0; ; round++ {
		if round > 0 {
			reset()
		}
		gaveUp := map[types.UID][]string{}
		strict := make([]*corev1.Pod, len(pods))
		for i, p := range pods {
			var given []string
			strict[i], given = Required(p, relaxed[p.UID])
			if len(given) > 0 {
				gaveUp[p.UID] = given
			}
		}
		res := solve(strict)
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
