package disruption

import "context"

const methodSingleNode = "single-node"

// SingleNode consolidates one node at a time, in pools whose policy is
// WhenEmptyOrUnderutilized: the least disruptive Consolidatable node whose
// pods fit on the other nodes goes; one whose pods fit elsewhere plus on
// one new node cheaper by at least MinSavings is replaced by it, the new
// node first. Every other candidate is told why it stays.
type SingleNode struct {
	consolidation
}

// Reconcile implements Method.
func (s *SingleNode) Reconcile(ctx context.Context) error {
	if f, err := s.load(ctx); err == nil {
		s.finishReplaced(ctx, f)
	}
	return s.pass(ctx, methodSingleNode, s.search)
}

// search evaluates the candidates in order and takes the first that is
// worth it.
func (s *SingleNode) search(ctx context.Context, f *fleet, cands []*candidate) (*decision, error) {
	if len(cands) == 0 {
		return nil, nil
	}
	// Every candidate is planned against one reading of the cluster.
	c, err := s.sessionOf(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, cand := range cands {
		d, why, err := c.evaluate(ctx, []*candidate{cand}, false)
		if err != nil {
			return nil, err
		}
		if d != nil {
			return d, nil
		}
		c.tell(cand.claim, why)
	}
	return nil, nil
}
