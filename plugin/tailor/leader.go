package tailor

import (
	"context"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"
)

// Only the replica that leads kube-scheduler's election may provision.
// Scheduling cycles run there alone, but kube-scheduler calls PreEnqueue
// from its queue's event handlers, which run in every replica: without this
// gate a standby would batch and buy for the pods of a cluster with no node,
// beside the leader.
//
// kube-scheduler tells its plugins nothing of its election, so the
// scheduler command, which builds the election, hands its identity and Lease
// here (SetLeaderElection), and the plugin reads the Lease's holder.

type schedulerElection struct {
	identity, namespace, name string
}

var election atomic.Pointer[schedulerElection]

// SetLeaderElection tells the plugin the identity kube-scheduler's leader
// election runs as and the Lease it holds. Without it (leader election off)
// the plugin's replica is the only one, and provisions.
func SetLeaderElection(identity, namespace, name string) {
	election.Store(&schedulerElection{identity: identity, namespace: namespace, name: name})
}

// leaderPollInterval is how often the Lease is read: well inside
// kube-scheduler's retry period, so a replica that takes over provisions
// within a second or two of winning.
const leaderPollInterval = time.Second

// leads reports whether this replica may provision.
func (t *Tailor) leads() bool {
	return election.Load() == nil || t.leading.Load()
}

// followLeaderElection keeps t.leading true while kube-scheduler's Lease
// names this replica, until ctx ends.
func (t *Tailor) followLeaderElection(ctx context.Context) {
	e := election.Load()
	if e == nil {
		return
	}
	logger := klog.FromContext(ctx).WithValues("lease", klog.KRef(e.namespace, e.name), "identity", e.identity)
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		lease, err := t.handle.ClientSet().CoordinationV1().Leases(e.namespace).Get(ctx, e.name, metav1.GetOptions{})
		holder := ""
		switch {
		case err == nil && lease.Spec.HolderIdentity != nil:
			holder = *lease.Spec.HolderIdentity
		case err != nil && !apierrors.IsNotFound(err):
			// Unknown: keep what was known; a leader that cannot reach the
			// API server loses its Lease and exits anyway.
			logger.V(2).Info("Reading the scheduler's Lease failed", "err", err)
			return
		}
		now := holder == e.identity
		if was := t.leading.Swap(now); was != now {
			logger.Info("Provisioning follows kube-scheduler's leader election", "leading", now, "holder", holder)
		}
	}, leaderPollInterval)
}
