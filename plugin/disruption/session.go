package disruption

import (
	"context"
	"fmt"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// Sessions is a Planner that can read the cluster once for many plans: a
// consolidation search plans one displacement per step (one per candidate,
// single-node; one per prefix, multi-node), and reading a large cluster's
// nodes and pods for each costs far more than the plan itself.
type Sessions interface {
	// Session returns a Planner whose Displace plans against the cluster as
	// it is now, read at most once, each time without the nodes given. The
	// search acts on nothing meanwhile; what it decides is planned again on
	// a fresh reading when validated.
	Session(ctx context.Context) (Planner, error)
}

// FleetSessions are Sessions that can plan with the NodeClaims the search
// read already, rather than read them again.
type FleetSessions interface {
	Sessions
	SessionWith(ctx context.Context, claims []karpv1.NodeClaim) (Planner, error)
}

// session is the consolidation with its Planner's session for one search,
// when the Planner has sessions.
func (c consolidation) session(ctx context.Context) (consolidation, error) {
	return c.sessionOf(ctx, nil)
}

// sessionOf is session for a search of the fleet, with the claims the
// fleet was loaded with when the Planner can take them.
func (c consolidation) sessionOf(ctx context.Context, f *fleet) (consolidation, error) {
	var p Planner
	var err error
	switch s := c.Planner.(type) {
	case FleetSessions:
		if f != nil {
			p, err = s.SessionWith(ctx, f.claims)
		} else {
			p, err = s.Session(ctx)
		}
	case Sessions:
		p, err = s.Session(ctx)
	default:
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("reading the cluster for the search: %w", err)
	}
	c.Planner = p
	return c, nil
}
