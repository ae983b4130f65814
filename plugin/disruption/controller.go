package disruption

import (
	"context"
	"time"

	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Env is what every disruption method reads and writes through.
type Env struct {
	// Objects reads NodePools and NodeClaims; Client writes NodeClaims and
	// Nodes.
	Objects      client.Reader
	Client       client.Client
	Pods         corelisters.PodLister
	Nodes        corelisters.NodeLister
	Reservations Reservations
	Recorder     events.EventRecorder
	Clock        clock.PassiveClock
	// Planner decides where displaced pods go: the plugin's own path.
	Planner Planner
	// PDBs tell whether a pod may be evicted now; consolidation leaves a
	// node alone while one of its pods may not.
	PDBs policylisters.PodDisruptionBudgetLister
	// MinSavings is the least share of the replaced nodes' price a
	// consolidation replacement must save.
	MinSavings float64
	// ValidationPeriod is how long a consolidation decision waits before it
	// is checked again and carried out.
	ValidationPeriod time.Duration
	// EfficiencyInterval is how often the fleet's cost efficiency is
	// measured; zero never.
	EfficiencyInterval time.Duration
}

// Method is one way of disrupting, run once per pass.
type Method interface {
	Reconcile(ctx context.Context) error
}

// Controller runs the methods in order every interval, and at once when
// woken: capacity for pods on nodes being deleted first, since those nodes
// go whatever happens; then empty nodes; then, once the Consolidatable
// conditions are current, several underused nodes at once, then one at a
// time; then drifted ones.
type Controller struct {
	Methods []Method
	wake    chan struct{}
}

// NewController runs the disruption methods over env.
func NewController(env Env) *Controller {
	shared := &consolidationState{}
	return &Controller{
		Methods: []Method{
			&Prespin{Env: env},
			&Emptiness{Objects: env.Objects, Client: env.Client, Pods: env.Pods, Nodes: env.Nodes, Reservations: env.Reservations, Recorder: env.Recorder, Clock: env.Clock},
			&Consolidatable{Env: env, state: shared},
			&MultiNode{consolidation: consolidation{Env: env, state: shared}},
			&SingleNode{consolidation: consolidation{Env: env, state: shared}},
			&Drift{Env: env},
			&Efficiency{Env: env, Interval: env.EfficiencyInterval},
		},
		wake: make(chan struct{}, 1),
	}
}

// Wake asks for a pass now: a claim started being deleted, say. It never
// blocks.
func (c *Controller) Wake() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run passes every interval, and when woken, until ctx ends.
func (c *Controller) Run(ctx context.Context, interval time.Duration) {
	logger := klog.FromContext(ctx).WithValues("controller", "disruption")
	ctx = klog.NewContext(ctx, logger)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		for _, m := range c.Methods {
			if err := m.Reconcile(ctx); err != nil {
				logger.Error(err, "Disruption pass", "method", methodName(m))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-c.wake:
		}
	}
}

func methodName(m Method) string {
	switch m.(type) {
	case *Prespin:
		return "prespin"
	case *Emptiness:
		return "emptiness"
	case *Consolidatable:
		return "consolidatable"
	case *MultiNode:
		return "multi-node consolidation"
	case *SingleNode:
		return "single-node consolidation"
	case *Drift:
		return "drift"
	case *Efficiency:
		return "cost efficiency"
	}
	return "unknown"
}
