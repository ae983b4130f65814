package e2e

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// Log lines the HA test reads: kube-scheduler's leader election (client-go
// logs it without the identity), and the plugin's disruption loop, which
// names the identity it holds its Lease as.
const (
	acquiredScheduler  = "successfully acquired lease kube-system/" + schedulerLease
	acquiredDisruption = "Disruption lease acquired"
	removedEmptyNode   = "Removing an empty node"
)

// haReplicas are the scheduler replicas of TestHA.
var haReplicas = []string{"scheduler-a", "scheduler-b"}

// TestHA: two scheduler replicas against one cluster, as
// manifests/scheduler deploys them. kube-scheduler's leader election lets
// one schedule; the disruption loop takes its own Lease, so while both
// run only one removes empty nodes. Killing the leader with SIGKILL in the
// middle of a batch costs no pod and buys nothing twice: the other replica
// takes over and finishes the batch from the claims the dead one wrote.
func TestHA(t *testing.T) {
	s := startSystem(t, options{}, schedulerSettings{batchIdle: 2 * time.Second, batchMax: 10 * time.Second, ha: true}, haReplicas...)
	bought := s.watchPurchases()
	leader, identity := s.leader()
	t.Logf("%s leads the schedulers as %s", leader, identity)

	t.Run("one replica removes empty nodes", func(t *testing.T) {
		s := s.forT(t)
		pool := scenarioPool("ha-empty", "ha-empty", onDemand...)
		pool.Spec.Disruption.ConsolidateAfter = karpv1.MustParseNillableDuration("5s")
		pool.Spec.Disruption.Budgets = []karpv1.Budget{{Nodes: "100%"}}
		s.create(pool)
		d := oneNodeEach("empty", pool, 3)
		s.create(d)
		s.running(d.Name, 3)
		// Only the leader schedules, so only it may buy for the pods.
		s.settled(bought)
		s.scale(d.Name, 0)
		s.eventually("the empty nodes of NodePool "+pool.Name+" are gone", func() (bool, error) {
			claims, err := s.claims()
			if err != nil {
				return false, err
			}
			var left []string
			for _, nc := range claims {
				if nc.Labels[wellknown.NodePoolLabel] == pool.Name {
					left = append(left, nc.Name)
				}
			}
			if len(left) > 0 {
				return false, fmt.Errorf("NodeClaims %v are still there", left)
			}
			return true, nil
		})

		for _, d := range bought.boughtTwice() {
			t.Errorf("bought twice: %s", d)
		}
		holder := s.holder(disruptionLease)
		if holder == "" {
			t.Errorf("Lease kube-system/%s has no holder while both replicas run", disruptionLease)
		}
		acquired := s.replicasLogging(acquiredDisruption)
		removers := s.replicasLogging(removedEmptyNode)
		t.Logf("disruption lease held by %q; acquired per replica: %v; removals per replica: %v", holder, counts(acquired), counts(removers))
		if len(acquired) != 1 {
			t.Errorf("%d replicas logged %q, want exactly one: %v", len(acquired), acquiredDisruption, acquired)
		}
		if len(removers) != 1 {
			t.Errorf("%d replicas removed empty nodes, want exactly one: %v", len(removers), removers)
		}
		for name, lines := range acquired {
			if holder != "" && !strings.Contains(strings.Join(lines, "\n"), holder) {
				t.Errorf("%s logged %q, but not as %s, which holds the Lease: %v", name, acquiredDisruption, holder, lines)
			}
			if _, removed := removers[name]; len(removers) == 1 && !removed {
				t.Errorf("%s holds the disruption lease, yet %v removed the empty nodes", name, keys(removers))
			}
		}
	})

	t.Run("the leader killed in the middle of a batch", func(t *testing.T) {
		s := s.forT(t)
		pool := scenarioPool("ha", "ha", onDemand...)
		s.create(pool)
		leader, identity := s.leader()
		survivor := other(leader)
		// EC2 launches nothing more until the survivor has decided, so the
		// pods wait for the dead leader's claims and do not simply land on
		// their nodes: a survivor that did not take over the reservations
		// recorded on the claims would buy again.
		ec2Slow := s.holdCreateFleet()
		killed := make(chan struct{})
		var once sync.Once
		solvedBefore := 0
		bought.whenCreated(func(*karpv1.NodeClaim) {
			once.Do(func() {
				s.kill(leader)
				ec2Slow.hold()
				solvedBefore = len(s.children[survivor].linesWith("Batch solved"))
				close(killed)
			})
		})
		d := oneNodeEach("failover", pool, 8)
		s.create(d)
		s.await(killed, "the first NodeClaim of the leader's batch")
		bought.whenCreated(nil)
		t.Logf("%d NodeClaims existed when %s, the leader, died", len(s.mustClaims()), leader)

		next, nextIdentity := s.leader()
		if next != survivor || nextIdentity == identity {
			t.Errorf("after %s (%s) died, %s leads as %s; want %s with another identity", leader, identity, next, nextIdentity, survivor)
		}
		t.Logf("%s took over as %s", survivor, nextIdentity)
		s.decided(s.children[survivor], solvedBefore, d.Name, bought)
		ec2Slow.release()
		s.running(d.Name, 8)
		s.settled(bought)

		// The disruption loop runs where a replica is alive: if the dead
		// leader held its Lease, the survivor takes it once it expires.
		s.eventually("the survivor holds the disruption lease", func() (bool, error) {
			holder := s.holder(disruptionLease)
			lines := s.children[survivor].linesWith(acquiredDisruption)
			if holder == "" || !strings.Contains(strings.Join(lines, "\n"), holder) {
				return false, fmt.Errorf("Lease kube-system/%s is held by %q; %s logged %v", disruptionLease, holder, survivor, lines)
			}
			return true, nil
		})
	})
}

// leader waits until exactly one live replica has won kube-scheduler's
// leader election, and returns it with the Lease's holder identity.
// client-go does not log the identity it acquires as, so the replica is
// the one whose log says it acquired the Lease; the test kills no replica
// it has not found this way.
func (s *system) leader() (name, identity string) {
	s.t.Helper()
	s.eventually("one live scheduler replica leads", func() (bool, error) {
		identity = s.holder(schedulerLease)
		if identity == "" {
			return false, fmt.Errorf("Lease kube-system/%s has no holder", schedulerLease)
		}
		var leaders []string
		for _, r := range haReplicas {
			if c := s.children[r]; c != nil && !c.exited() && len(c.linesWith(acquiredScheduler)) > 0 {
				leaders = append(leaders, r)
			}
		}
		if len(leaders) != 1 {
			return false, fmt.Errorf("live replicas that acquired the Lease: %v", leaders)
		}
		name = leaders[0]
		return true, nil
	})
	return name, identity
}

// other is the replica that is not r.
func other(r string) string {
	if r == haReplicas[0] {
		return haReplicas[1]
	}
	return haReplicas[0]
}

// replicasLogging maps each live replica whose log has text to those
// lines.
func (s *system) replicasLogging(text string) map[string][]string {
	out := map[string][]string{}
	for _, r := range haReplicas {
		c := s.children[r]
		if c == nil || c.exited() {
			continue
		}
		if lines := c.linesWith(text); len(lines) > 0 {
			out[r] = lines
		}
	}
	return out
}

func counts(m map[string][]string) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = len(v)
	}
	return out
}

func keys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
