package tailor

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/plugin/disruption"
)

var _ disruption.FleetSessions = &Tailor{}

// Session implements disruption.Sessions: the world is read once, on the
// first Displace, with every running node and its pods, and frozen; each
// Displace then takes its nodes away from a view of it and solves there.
// That is the plan Displace makes on a fresh reading, since a node's
// absence only removes it and its pods from the snapshot and its room from
// the solve.
func (t *Tailor) Session(context.Context) (disruption.Planner, error) {
	return &session{t: t}, nil
}

// SessionWith implements disruption.FleetSessions: Session, with the
// claims the search read.
func (t *Tailor) SessionWith(_ context.Context, claims []karpv1.NodeClaim) (disruption.Planner, error) {
	return &session{t: t, claims: claims, given: true}, nil
}

// session is one disruption search's reading of the cluster.
type session struct {
	t *Tailor
	// claims are the search's, when given.
	claims []karpv1.NodeClaim
	given  bool
	w      *world
	// onNode are the pods, read with the world, by node.
	onNode map[string][]*corev1.Pod
}

func (s *session) Displace(ctx context.Context, nodes []string) (*disruption.Plan, error) {
	if s.w == nil {
		if err := s.read(ctx); err != nil {
			return nil, err
		}
	}
	var on []*corev1.Pod
	for _, n := range nodes {
		on = append(on, s.onNode[n]...)
	}
	return s.t.displace(nodes, on, func(pods []*corev1.Pod, without sets.Set[string]) (*batchPlan, error) {
		if s.w.sim != nil {
			s.w.sim.Reset(without)
		}
		return s.w.solve(ctx, pods, without), nil
	})
}

// read reads the world and freezes its snapshot, and indexes the pods; or
// takes the last search's, if what it was read from did not change.
func (s *session) read(ctx context.Context) error {
	claims := s.claims
	if !s.given {
		var list karpv1.NodeClaimList
		if err := s.t.objects.List(ctx, &list); err != nil {
			return fmt.Errorf("listing NodeClaims: %w", err)
		}
		claims = list.Items
	}
	set, err := s.t.loadPools(ctx, claims)
	if err != nil {
		return err
	}
	// What the world is read from is taken before it is read: a change in
	// between makes the next search read again.
	informers := s.t.handle.SharedInformerFactory().Core().V1()
	nodes, err := informers.Nodes().Lister().List(labels.Everything())
	if err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	all, err := informers.Pods().Lister().List(labels.Everything())
	if err != nil {
		return fmt.Errorf("listing pods: %w", err)
	}
	from, known := readFromNow(claims, set, nodes, all)
	if last := s.t.lastReading.get(); known && last.takes(from) {
		s.w, s.onNode = last.w, last.onNode
		return nil
	}
	w, err := s.t.readIn(ctx, set, claims, nil, true)
	if err != nil {
		return err
	}
	if w.sim != nil {
		w.sim.Snapshot().Freeze()
	}
	// Listed again after the snapshot: a pod bound to a node meanwhile is
	// displaced with it.
	if all, err = informers.Pods().Lister().List(labels.Everything()); err != nil {
		return fmt.Errorf("listing pods: %w", err)
	}
	s.onNode = map[string][]*corev1.Pod{}
	for _, p := range all {
		if p.Spec.NodeName != "" {
			s.onNode[p.Spec.NodeName] = append(s.onNode[p.Spec.NodeName], p)
		}
	}
	s.w = w
	if !known {
		s.t.lastReading.set(nil)
		return nil
	}
	s.t.lastReading.set(&reading{ctx: ctx, w: w, onNode: s.onNode, from: from})
	return nil
}

func (s *session) Launch(ctx context.Context, plan *disruption.Plan, replacing string) ([]string, error) {
	return s.t.Launch(ctx, plan, replacing)
}

func (s *session) Price(ctx context.Context, nc *karpv1.NodeClaim) (float64, error) {
	return s.t.Price(ctx, nc)
}
