package disruption

import (
	"context"
	"fmt"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

// Lease elects the one scheduler replica that disrupts. kube-scheduler's
// leader election decides which replica schedules; it does not cover code
// that runs beside the scheduler, so without a lease of its own every
// replica would remove nodes, twice as fast as the budgets allow.
type Lease struct {
	Namespace, Name                           string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Identity names this replica in the Lease; host name and a random
	// suffix when empty, so two replicas on one host differ.
	Identity string
}

// Run calls lead with a context that ends when this replica loses the
// Lease, and runs for the Lease again, until ctx ends.
func (l Lease) Run(ctx context.Context, kube kubernetes.Interface, lead func(ctx context.Context)) {
	logger := klog.FromContext(ctx).WithValues("lease", klog.KRef(l.Namespace, l.Name))
	identity := l.Identity
	if identity == "" {
		host, err := os.Hostname()
		if err != nil {
			host = "tailor-scheduler"
		}
		identity = fmt.Sprintf("%s_%s", host, uuid.NewUUID())
	}
	logger = logger.WithValues("identity", identity)
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: l.Namespace, Name: l.Name},
		Client:     kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   l.LeaseDuration,
			RenewDeadline:   l.RenewDeadline,
			RetryPeriod:     l.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            l.Name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					logger.Info("Disruption lease acquired; this replica runs the disruption loop")
					lead(klog.NewContext(ctx, logger))
				},
				OnStoppedLeading: func() {
					logger.Info("Disruption lease released or lost; this replica stops disrupting")
				},
				OnNewLeader: func(holder string) {
					if holder != identity {
						logger.V(2).Info("Another replica holds the disruption lease", "holder", holder)
					}
				},
			},
		})
		if err != nil {
			logger.Error(err, "Setting up the disruption lease")
			return
		}
		elector.Run(ctx)
	}, l.RetryPeriod)
}
