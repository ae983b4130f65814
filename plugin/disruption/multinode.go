package disruption

import "context"

const methodMultiNode = "multi-node"

// maxMultiNodeCandidates bounds the search, as Karpenter does: each step
// plans the whole fleet again.
const maxMultiNodeCandidates = 100

// MultiNode consolidates several nodes at once: the longest prefix of the
// candidates, least disruptive first, whose pods fit on the other nodes, or
// on them and one new node cheaper than all of them by at least MinSavings.
// Which prefix works is found by binary search, each step a plan by the
// provisioning path. Single-node consolidation tells the nodes left alone
// why.
type MultiNode struct {
	consolidation
}

// Reconcile implements Method.
func (m *MultiNode) Reconcile(ctx context.Context) error {
	return m.pass(ctx, methodMultiNode, m.search)
}

func (m *MultiNode) search(ctx context.Context, f *fleet, cands []*candidate) (*decision, error) {
	// Within each pool's budget, in order.
	var list []*candidate
	taken := map[string]int{}
	for _, cand := range cands {
		if len(list) == maxMultiNodeCandidates {
			break
		}
		if taken[cand.pool.Name] < f.budget[cand.pool.Name] {
			taken[cand.pool.Name]++
			list = append(list, cand)
		}
	}
	var best *decision
	lo, hi := 2, len(list)
	for lo <= hi {
		mid := (lo + hi) / 2
		d, _, err := m.evaluate(ctx, list[:mid], true)
		if err != nil {
			return nil, err
		}
		if d != nil {
			best, lo = d, mid+1
		} else {
			hi = mid - 1
		}
	}
	return best, nil
}
