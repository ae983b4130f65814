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
	// A replacement retires its nodes as the budget allows, so the search
	// may take more nodes than the budget lets go at once; a delete may not,
	// and is searched again within the budgets.
	// Every step of both searches plans against one reading of the cluster.
	c, err := m.sessionOf(ctx, f)
	if err != nil {
		return nil, err
	}
	d, err := searchList(ctx, c, inOpenPools(f, cands))
	if err != nil || d == nil || d.replaces() || fitsBudgets(f, d.candidates) {
		return d, err
	}
	return searchList(ctx, c, withinBudgets(f, cands))
}

// searchList finds the longest prefix of list worth consolidating.
func searchList(ctx context.Context, c consolidation, list []*candidate) (*decision, error) {
	if len(list) < 2 {
		return nil, nil
	}
	var best *decision
	lo, hi := 2, len(list)
	for lo <= hi {
		mid := (lo + hi) / 2
		d, _, err := c.evaluate(ctx, list[:mid], true)
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

// withinBudgets are the candidates the search considers: in order, within
// each pool's budget, at most maxMultiNodeCandidates.
func withinBudgets(f *fleet, cands []*candidate) []*candidate {
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
	return list
}

// inOpenPools are the candidates the search considers for a replacement: in
// order, of the pools whose budget lets a node go now, at most
// maxMultiNodeCandidates.
func inOpenPools(f *fleet, cands []*candidate) []*candidate {
	var list []*candidate
	for _, cand := range cands {
		if len(list) == maxMultiNodeCandidates {
			break
		}
		if f.budget[cand.pool.Name] >= 1 {
			list = append(list, cand)
		}
	}
	return list
}

// fitsBudgets reports whether the candidates may all go at once.
func fitsBudgets(f *fleet, cands []*candidate) bool {
	per := map[string]int{}
	for _, cand := range cands {
		per[cand.pool.Name]++
		if per[cand.pool.Name] > f.budget[cand.pool.Name] {
			return false
		}
	}
	return true
}
