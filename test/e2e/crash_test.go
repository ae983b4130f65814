package e2e

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// crashBatch is the batch of the crash suites: long enough idle that a
// test sees a batch open and kills the scheduler before it closes.
var crashBatch = schedulerSettings{batchIdle: 3 * time.Second, batchMax: 15 * time.Second}

// TestCrash: the scheduler and the launcher, killed with SIGKILL at the
// worst moments and started again, lose no pod and buy nothing twice. The
// scheduler dies right after the first NodeClaim of a batch and while a
// batch is open; the launcher dies after EC2 launched an instance and
// before the claim recorded it, and the scheduler with it. After each
// restart every pod runs, every instance belongs to a claim, no claim has
// two instances and no pod was reserved on two claims at once. Each pod
// needs a node of its own, so a batch makes as many claims as it has pods.
func TestCrash(t *testing.T) {
	s := startSystem(t, options{}, crashBatch, "scheduler")
	bought := s.watchPurchases()
	pool := scenarioPool("crash", "crash", onDemand...)
	s.create(pool)

	t.Run("scheduler killed after the first NodeClaim of a batch", func(t *testing.T) {
		s := s.forT(t)
		// EC2 launches nothing more until the restarted scheduler has
		// decided: the pods can only wait for the claims bought before the
		// crash, not land on their nodes, so a scheduler that forgot them
		// would buy them again.
		ec2Slow := s.holdCreateFleet()
		killed := make(chan struct{})
		var once sync.Once
		bought.whenCreated(func(nc *karpv1.NodeClaim) {
			once.Do(func() {
				s.kill("scheduler")
				ec2Slow.hold()
				close(killed)
			})
		})
		d := oneNodeEach("first", pool, 10)
		s.create(d)
		s.await(killed, "the batch's first NodeClaim")
		bought.whenCreated(nil)
		t.Logf("%d NodeClaims existed when the scheduler died", len(s.mustClaims()))
		restarted := s.startScheduler("scheduler")
		s.decided(restarted, 0, d.Name, bought)
		ec2Slow.release()
		s.running(d.Name, 10)
		s.settled(bought)
	})

	t.Run("scheduler killed while its batch is open", func(t *testing.T) {
		s := s.forT(t)
		before := sets.New(bought.claimsSeen()...)
		// The pods fit no node (each wants one to itself), so the
		// scheduler marks them unschedulable and the plugin takes them
		// into its batch, which closes crashBatch.batchIdle later.
		d := oneNodeEach("open", pool, 5)
		s.create(d)
		s.eventually("every pod of "+d.Name+" was found unschedulable", func() (bool, error) {
			pods, err := s.pods(d.Name)
			if err != nil {
				return false, err
			}
			if len(pods) != 5 {
				return false, fmt.Errorf("%d pods", len(pods))
			}
			for _, p := range pods {
				if !unschedulable(&p) {
					return false, fmt.Errorf("pod %s is not marked unschedulable yet", p.Name)
				}
			}
			return true, nil
		})
		s.kill("scheduler")
		if made := sets.New(bought.claimsSeen()...).Difference(before); made.Len() > 0 {
			t.Logf("the batch had closed before the kill: NodeClaims %v were made", sets.List(made))
		}
		s.startScheduler("scheduler")
		s.running(d.Name, 5)
		s.settled(bought)
	})

	t.Run("launcher killed after CreateFleet, the scheduler with it", func(t *testing.T) {
		s := s.forT(t)
		killed := make(chan struct{})
		var once sync.Once
		s.launcherAWS.onAnswered(func(call string, status int) bool {
			if call != "ec2:CreateFleet" || status != 200 {
				return false
			}
			drop := false
			once.Do(func() {
				s.kill(launcherName)
				s.kill("scheduler")
				close(killed)
				drop = true
			})
			return drop
		})
		d := oneNodeEach("fleet", pool, 5)
		s.create(d)
		s.await(killed, "the launcher's first CreateFleet")
		s.launcherAWS.onAnswered(nil)

		// The instance EC2 launched is on no claim: the launcher died
		// before it could say so.
		owned := instanceIDs(s.mustClaims())
		lost := sets.New[string]()
		for _, inst := range s.cluster.Simulator.Instances() {
			if live(inst.State) && !owned.Has(inst.ID) {
				lost.Insert(inst.ID)
			}
		}
		if lost.Len() == 0 {
			t.Fatalf("no instance is without its NodeClaim after the kill: it did not land between CreateFleet and the claim's status\n%s", s.dump())
		}
		t.Logf("instances launched but recorded on no NodeClaim when the launcher died: %v", sets.List(lost))

		s.startLauncher()
		s.startScheduler("scheduler")
		s.running(d.Name, 5)
		s.settled(bought)
		adopted := instanceIDs(s.mustClaims())
		for _, id := range sets.List(lost) {
			if !adopted.Has(id) {
				t.Errorf("instance %s, launched before the crash, is not the instance of any NodeClaim\n%s", id, s.dump())
			}
		}
	})
	s.alive()
}

// decided waits until the scheduler replica c has solved a batch since its
// log had before lines "Batch solved", or every pod of app is reserved on
// a live claim, so nothing is left to decide.
func (s *system) decided(c *child, before int, app string, bought *purchases) {
	s.t.Helper()
	s.eventually(c.name+" decided for every pod of "+app, func() (bool, error) {
		if len(c.linesWith("Batch solved")) > before {
			return true, nil
		}
		pods, err := s.pods(app)
		if err != nil {
			return false, err
		}
		reserved := bought.reservedNow()
		for _, p := range pods {
			if !reserved.Has(p.UID) {
				return false, fmt.Errorf("pod %s is on no NodeClaim and no batch was solved", p.Name)
			}
		}
		return true, nil
	})
}

// createFleetHold holds the launcher's CreateFleet calls in the proxy, as an
// EC2 that answers slowly, from hold until release.
type createFleetHold struct {
	proxy    *awsProxy
	released chan struct{}
	once     sync.Once
}

// holdCreateFleet prepares a hold; the test's end releases it.
func (s *system) holdCreateFleet() *createFleetHold {
	h := &createFleetHold{proxy: s.launcherAWS, released: make(chan struct{})}
	s.t.Cleanup(h.release)
	return h
}

func (h *createFleetHold) hold() {
	h.proxy.onForwarding(func(call string) {
		if call == "ec2:CreateFleet" {
			<-h.released
		}
	})
}

func (h *createFleetHold) release() {
	h.once.Do(func() {
		h.proxy.onForwarding(nil)
		close(h.released)
	})
}

// unschedulable reports whether the scheduler marked the pod as fitting no
// node.
func unschedulable(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return true
		}
	}
	return false
}

// await waits until ch closes, for what the message names.
func (s *system) await(ch <-chan struct{}, what string) {
	s.t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		s.t.Fatalf("waited %s for %s\n%s", waitTimeout, what, s.dump())
	case <-s.ctx.Done():
		s.t.Fatal(errors.New("the test ended while waiting for " + what))
	}
}

// settled checks, once every pod runs, that every claim went through its
// lifecycle and that nothing was bought twice.
func (s *system) settled(bought *purchases) {
	s.t.Helper()
	s.nothingBoughtTwice(bought)
	s.eventually("every NodeClaim is through its lifecycle", func() (bool, error) {
		claims, err := s.claims()
		if err != nil {
			return false, err
		}
		for _, nc := range claims {
			if missing := notThrough(&nc); len(missing) > 0 {
				return false, fmt.Errorf("NodeClaim %s is not %v", nc.Name, missing)
			}
		}
		return true, nil
	})
	s.alive()
}

// forT is the system seen from a subtest: failures are the subtest's.
func (s *system) forT(t *testing.T) *system {
	c := *s
	c.env = s.env.forT(t)
	return &c
}
