package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/instance"
	"github.com/tailor-project/tailor/test/cluster"
	"github.com/tailor-project/tailor/test/ec2sim"
)

// interruptionPods is how many inflate pods the interruption suites run.
const interruptionPods = 40

// spotNotice is how long EC2 (and the simulator, on its clock) leaves a
// spot instance after the interruption warning.
const spotNotice = 2 * time.Minute

// movedWithin is how soon after an event the pods of the node must run
// elsewhere: the bound, which a spot warning leaves at least at the
// clock scale the spot suite runs at.
const movedWithin = 60 * time.Second

// spotClockScale runs the spot suite's simulated clock at twice real time:
// EC2 takes the instance back 60 real seconds after the warning, the bound
// the pods must move within. At the suites' usual scale (4) it would be 30.
const spotClockScale = 2

// TestInterruptionSpotWarning: 40 inflate pods on the seed's basic pool; a
// rebalance recommendation for a spot node only records events; a spot
// interruption warning for the busiest spot node moves its pods to other
// nodes within 60 seconds and before EC2 takes the instance back, leaves
// no pod pending once the instance is gone, and keeps the interrupted
// offering (type, zone, spot) out of every launch after it.
func TestInterruptionSpotWarning(t *testing.T) {
	e := start(t, options{files: []string{"01-nodepool-basic.yaml"}, clockScale: spotClockScale})
	e.inflate(interruptionPods)
	e.rebalance()
	took := e.interrupt(interruptionCase{
		event:  ec2sim.Event{Kind: ec2sim.SpotInterruption},
		spot:   true,
		reason: karpv1.InterruptedReasonSpotInterruption,
	})
	t.Logf("spot interruption warning -> %d pods Running again: %s", interruptionPods, took.Round(100*time.Millisecond))
	e.queueDrained()
}

// TestInterruptionScheduledChangeAndStop: the same for an AWS Health
// scheduled change of the busiest node, then for the busiest node left
// being stopped behind the launcher's back.
func TestInterruptionScheduledChangeAndStop(t *testing.T) {
	e := start(t, options{files: []string{"01-nodepool-basic.yaml"}})
	e.inflate(interruptionPods)
	took := e.interrupt(interruptionCase{
		event:  ec2sim.Event{Kind: ec2sim.ScheduledChange},
		reason: karpv1.InterruptedReasonScheduledChange,
	})
	t.Logf("scheduled change -> %d pods Running again: %s", interruptionPods, took.Round(100*time.Millisecond))
	took = e.interrupt(interruptionCase{
		event:  ec2sim.Event{Kind: ec2sim.StateChange, State: "stopping"},
		reason: karpv1.InterruptedReasonInstanceStopping,
	})
	t.Logf("instance stopped -> %d pods Running again: %s", interruptionPods, took.Round(100*time.Millisecond))
	e.queueDrained()
}

// TestInterruptionQueueFaults: a message that is no event, and three copies
// of one scheduled change (two of them the same event), interrupt the node
// once and leave the queue empty. A queue deleted under the launcher makes
// it unready, and it keeps launching; once the queue is back it is ready
// and reads events again.
func TestInterruptionQueueFaults(t *testing.T) {
	probe := freeAddress(t)
	e := start(t, options{files: []string{"01-nodepool-basic.yaml"}, healthProbeAddr: probe})
	queue := sqs.NewFromConfig(e.cluster.AWS)
	pods := e.inflate(10)
	e.eventually("the launcher is ready", func() (bool, error) { err := e.readiness(probe); return err == nil, err })

	nodeName, _ := busiest(e.nodesOf(pods), pods, false)
	claim := e.claimOfNode(nodeName)
	id, err := instance.ParseProviderID(claim.Status.ProviderID)
	if err != nil {
		t.Fatal(err)
	}
	event := func(eventID string) string {
		return fmt.Sprintf(`{"version":"0","id":%q,"detail-type":"AWS Health Event","source":"aws.health","account":"%s",`+
			`"time":%q,"region":"us-east-1","resources":[],"detail":{"service":"EC2","eventTypeCategory":"scheduledChange",`+
			`"eventTypeCode":"AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED","affectedEntities":[{"entityValue":%q}]}}`,
			eventID, ec2sim.DefaultAccountID, time.Now().UTC().Format(time.RFC3339), id)
	}
	for _, body := range []string{`{"this is": "not an event"`, event("retire-1"), event("retire-1"), event("retire-2")} {
		if _, err := queue.SendMessage(e.ctx, &sqs.SendMessageInput{QueueUrl: aws.String(e.cluster.QueueURL), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	e.eventually("the pods of the retired node run on other nodes", func() (bool, error) {
		return e.movedOff(nodeName, 10)
	})
	e.queueDrained()
	events, err := e.eventsAbout("NodeClaim", claim.Name)
	if err != nil {
		t.Fatal(err)
	}
	var interrupted []corev1.Event
	for _, ev := range events {
		if ev.Reason == karpv1.InterruptedReasonScheduledChange {
			interrupted = append(interrupted, ev)
		}
	}
	if len(interrupted) != 1 || interrupted[0].Count > 1 {
		t.Errorf("NodeClaim %s was told of its interruption %d times (%+v), want once", claim.Name, len(interrupted), interrupted)
	}

	// The queue goes away: the launcher says so, and goes on launching.
	if _, err := queue.DeleteQueue(e.ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(e.cluster.QueueURL)}); err != nil {
		t.Fatal(err)
	}
	e.eventually("the launcher reports the queue unreachable", func() (bool, error) {
		err := e.readiness(probe)
		if err == nil || !strings.Contains(err.Error(), "interruption queue is unreachable") {
			return false, fmt.Errorf("readiness: %v", err)
		}
		return true, nil
	})
	known := sets.New[string]()
	for _, nc := range e.mustClaims() {
		known.Insert(nc.Name)
	}
	e.scale("inflate", 16)
	e.running("inflate", 16)
	var launched []string
	for _, nc := range e.mustClaims() {
		if !known.Has(nc.Name) && meta.IsStatusConditionTrue(nc.Status.Conditions, karpv1.ConditionTypeLaunched) {
			launched = append(launched, nc.Name)
		}
	}
	if len(launched) == 0 {
		t.Errorf("no NodeClaim was launched for the 6 new pods while the queue was gone\n%s", e.dump())
	}
	if err := e.readiness(probe); err == nil {
		t.Errorf("the launcher is ready while its queue does not exist")
	}

	// The queue comes back under its name: the launcher finds it and reads
	// events again.
	if _, err := queue.CreateQueue(e.ctx, &sqs.CreateQueueInput{QueueName: aws.String(cluster.DefaultQueueName)}); err != nil {
		t.Fatal(err)
	}
	e.eventually("the launcher is ready again", func() (bool, error) { err := e.readiness(probe); return err == nil, err })
	e.rebalance()
	e.queueDrained()
}

// interruptionCase is an event to inject about the busiest node.
type interruptionCase struct {
	// event is what the simulator makes happen; its instance is filled in.
	event ec2sim.Event
	// spot picks the busiest spot node, and expects EC2 to take the
	// instance back two minutes after the event and the offering to be
	// avoided from then on.
	spot bool
	// reason is the Interrupted condition's and the events'.
	reason string
}

// inflate runs the seed's inflate Deployment for the Tailor scheduler with
// n replicas, and returns its pods once they all run.
func (e *env) inflate(n int32) []corev1.Pod {
	e.t.Helper()
	d := &appsv1.Deployment{}
	if err := yaml.UnmarshalStrict(e.readExample("08-inflate-deployment.yaml"), d); err != nil {
		e.t.Fatal(err)
	}
	d.Spec.Template.Spec.SchedulerName = schedulerName
	e.create(d)
	e.scale(d.Name, n)
	return e.running(d.Name, int(n))
}

// busiest returns the node that runs most of the pods, a spot node if spot
// is set, and how many it runs.
func busiest(nodes map[string]*corev1.Node, pods []corev1.Pod, spot bool) (string, int) {
	count := map[string]int{}
	for _, p := range pods {
		if n := nodes[p.Spec.NodeName]; n != nil && (!spot || n.Labels[wellknown.CapacityTypeLabel] == wellknown.CapacityTypeSpot) {
			count[n.Name]++
		}
	}
	best := ""
	for name, c := range count {
		if best == "" || c > count[best] || (c == count[best] && name < best) {
			best = name
		}
	}
	return best, count[best]
}

// claimOfNode returns the claim linked to a node.
func (e *env) claimOfNode(node string) *karpv1.NodeClaim {
	e.t.Helper()
	claim := claimOfNode(e.mustClaims())[node]
	if claim == nil {
		e.t.Fatalf("node %s has no NodeClaim\n%s", node, e.dump())
	}
	return claim
}

// movedOff reports whether want inflate pods run, none of them on node.
func (e *env) movedOff(node string, want int) (bool, error) {
	pods, err := e.pods("inflate")
	if err != nil {
		return false, err
	}
	running, there := 0, 0
	for _, p := range pods {
		if p.Status.Phase == corev1.PodRunning {
			running++
		}
		if p.Spec.NodeName == node {
			there++
		}
	}
	if len(pods) != want || running != want || there > 0 {
		return false, fmt.Errorf("%d pods, %d Running, %d on node %s", len(pods), running, there, node)
	}
	return true, nil
}

// interrupt injects the case's event about the busiest node and checks
// what follows: its pods run on other nodes within movedWithin (and, for a
// spot warning, before EC2 takes the instance back), no pod is pending once
// the instance is gone, the node was tainted and the claim marked
// Interrupted with events on both, and for a spot warning the offering is
// recorded on the claim and chosen by no launch after the warning. It
// returns the time from the event to every pod Running again.
func (e *env) interrupt(c interruptionCase) time.Duration {
	e.t.Helper()
	pods := e.running("inflate", interruptionPods)
	nodeName, count := busiest(e.nodesOf(pods), pods, c.spot)
	if nodeName == "" {
		e.t.Fatalf("no node to interrupt (spot: %t)\n%s", c.spot, e.dump())
	}
	claim := e.claimOfNode(nodeName)
	id, err := instance.ParseProviderID(claim.Status.ProviderID)
	if err != nil {
		e.t.Fatal(err)
	}
	offering := [3]string{claim.Labels[wellknown.InstanceTypeLabel], claim.Labels[wellknown.ZoneLabel], claim.Labels[wellknown.CapacityTypeLabel]}
	before := sets.New[string]()
	for _, nc := range e.mustClaims() {
		before.Insert(nc.Name)
	}
	h := e.watchHistory()
	sim := e.cluster.Simulator
	c.event.InstanceID = id
	simStart, start := sim.Clock().Now(), time.Now()
	if err := sim.InjectEvent(c.event); err != nil {
		e.t.Fatalf("injecting %s: %v", c.event.Kind, err)
	}
	e.t.Logf("%s for node %s (NodeClaim %s, %s %s %s, instance %s), which runs %d pods",
		c.event.Kind, nodeName, claim.Name, offering[0], offering[1], offering[2], id, count)

	var took, simTook time.Duration
	e.eventually("the pods of node "+nodeName+" run on other nodes", func() (bool, error) {
		ok, err := e.movedOff(nodeName, interruptionPods)
		took, simTook = time.Since(start), sim.Clock().Now().Sub(simStart)
		return ok, err
	})
	if took > movedWithin {
		e.t.Errorf("the pods ran elsewhere %s after the %s, want within %s\n%s", took, c.event.Kind, movedWithin, e.dump())
	}
	if c.spot && simTook >= spotNotice {
		e.t.Errorf("the pods ran elsewhere %s (simulated) after the warning: EC2 took the instance back at %s", simTook, spotNotice)
	}

	e.eventually("instance "+id+" is gone", func() (bool, error) {
		for _, inst := range sim.Instances() {
			if inst.ID == id && inst.State != "shutting-down" && inst.State != "terminated" {
				return false, fmt.Errorf("instance %s is %s", id, inst.State)
			}
		}
		return true, nil
	})
	e.noPending()
	e.running("inflate", interruptionPods)

	if !h.claimSeen(claim.Name, func(nc *karpv1.NodeClaim) bool {
		cond := meta.FindStatusCondition(nc.Status.Conditions, karpv1.ConditionTypeInterrupted)
		return cond != nil && cond.Status == metav1.ConditionTrue && cond.Reason == c.reason
	}) {
		e.t.Errorf("NodeClaim %s was never %s=True with reason %s", claim.Name, karpv1.ConditionTypeInterrupted, c.reason)
	}
	if !h.nodeSeen(nodeName, func(n *corev1.Node) bool {
		for _, t := range n.Spec.Taints {
			if t.MatchTaint(&wellknown.DisruptedNoScheduleTaint) {
				return true
			}
		}
		return false
	}) {
		e.t.Errorf("node %s was never tainted %s", nodeName, wellknown.DisruptedNoScheduleTaint.ToString())
	}
	for _, kind := range []string{"NodeClaim", "Node"} {
		name := claim.Name
		if kind == "Node" {
			name = nodeName
		}
		if _, ok, err := e.eventWith(kind, name, c.reason, id); err != nil || !ok {
			e.t.Errorf("no %s event on %s %s naming instance %s (%v)", c.reason, kind, name, id, err)
		}
	}
	if c.spot {
		if !h.claimSeen(claim.Name, func(nc *karpv1.NodeClaim) bool {
			offerings, err := wellknown.ParseUnavailableOfferings(nc.Annotations)
			if err != nil {
				return false
			}
			for _, o := range offerings {
				if o.InstanceType == offering[0] && o.Zone == offering[1] && o.CapacityType == offering[2] && !o.At.IsZero() {
					return true
				}
			}
			return false
		}) {
			e.t.Errorf("NodeClaim %s never recorded %v as unavailable, with a time", claim.Name, offering)
		}
		// Within the catalogs' TTL (3 minutes from the warning): no launch
		// after the warning chose the offering EC2 took back.
		for _, name := range h.claimNames() {
			if before.Has(name) {
				continue
			}
			nc := h.last(name)
			got := [3]string{nc.Labels[wellknown.InstanceTypeLabel], nc.Labels[wellknown.ZoneLabel], nc.Labels[wellknown.CapacityTypeLabel]}
			if got == offering {
				e.t.Errorf("NodeClaim %s, created after the warning, launched as the interrupted offering %v", name, offering)
			}
		}
	}
	return took
}

// rebalance sends a rebalance recommendation for the busiest spot node (or
// the busiest node, if none is spot) and checks that it only records
// events: the claim is not marked or deleted, the node not tainted, and
// every pod stays where it runs.
func (e *env) rebalance() {
	e.t.Helper()
	pods, err := e.pods("inflate")
	if err != nil {
		e.t.Fatal(err)
	}
	nodes := e.nodesOf(pods)
	nodeName, _ := busiest(nodes, pods, true)
	if nodeName == "" {
		nodeName, _ = busiest(nodes, pods, false)
	}
	claim := e.claimOfNode(nodeName)
	id, err := instance.ParseProviderID(claim.Status.ProviderID)
	if err != nil {
		e.t.Fatal(err)
	}
	// A rebalance recommendation is only for spot instances in EC2; the
	// simulator sends it for any, which is what the fallback above uses.
	if err := e.cluster.Simulator.InjectEvent(ec2sim.Event{Kind: ec2sim.RebalanceRecommendation, InstanceID: id}); err != nil {
		e.t.Fatal(err)
	}
	for _, kind := range []string{"NodeClaim", "Node"} {
		name := claim.Name
		if kind == "Node" {
			name = nodeName
		}
		e.eventually("a RebalanceRecommendation event on "+kind+" "+name, func() (bool, error) {
			_, ok, err := e.eventWith(kind, name, "RebalanceRecommendation", id)
			return ok, err
		})
	}
	e.queueDrained()
	var after karpv1.NodeClaim
	if err := e.client.Get(e.ctx, client.ObjectKeyFromObject(claim), &after); err != nil {
		e.t.Fatalf("NodeClaim %s after a rebalance recommendation: %v", claim.Name, err)
	}
	if !after.DeletionTimestamp.IsZero() || meta.FindStatusCondition(after.Status.Conditions, karpv1.ConditionTypeInterrupted) != nil {
		e.t.Errorf("a rebalance recommendation changed NodeClaim %s: %s", claim.Name, describeClaim(&after))
	}
	node, err := e.kube.CoreV1().Nodes().Get(e.ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, t := range node.Spec.Taints {
		if t.MatchTaint(&wellknown.DisruptedNoScheduleTaint) {
			e.t.Errorf("a rebalance recommendation tainted node %s", nodeName)
		}
	}
	now, err := e.pods("inflate")
	if err != nil {
		e.t.Fatal(err)
	}
	where := map[string]string{}
	for _, p := range pods {
		where[p.Name] = p.Spec.NodeName
	}
	for _, p := range now {
		if where[p.Name] != p.Spec.NodeName {
			e.t.Errorf("pod %s moved from %q to %q after a rebalance recommendation", p.Name, where[p.Name], p.Spec.NodeName)
		}
	}
	if len(now) != len(pods) {
		e.t.Errorf("%d pods after a rebalance recommendation, %d before", len(now), len(pods))
	}
}

// noPending fails unless no inflate pod is Pending.
func (e *env) noPending() {
	e.t.Helper()
	pods, err := e.pods("inflate")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range pods {
		if p.Status.Phase == corev1.PodPending {
			e.t.Errorf("pod %s is Pending after the interrupted instance is gone\n%s", p.Name, e.dump())
			return
		}
	}
}

// queueDrained waits until the interruption queue holds no message,
// visible or in flight, as SQS counts them: every event was handled and
// deleted.
func (e *env) queueDrained() {
	e.t.Helper()
	queue := sqs.NewFromConfig(e.cluster.AWS)
	e.eventually("the interruption queue is empty", func() (bool, error) {
		out, err := queue.GetQueueAttributes(e.ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(e.cluster.QueueURL),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
		})
		if err != nil {
			return false, err
		}
		visible, inFlight := out.Attributes["ApproximateNumberOfMessages"], out.Attributes["ApproximateNumberOfMessagesNotVisible"]
		if visible != "0" || inFlight != "0" {
			return false, fmt.Errorf("%s messages visible, %s in flight", visible, inFlight)
		}
		return true, nil
	})
}

// freeAddress returns a loopback address no one listens on, for the
// launcher's health probes.
func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// readiness asks the launcher's /readyz for its interruption queue check:
// nil when ready, else what it says.
func (e *env) readiness(addr string) error {
	req, err := http.NewRequestWithContext(e.ctx, http.MethodGet, "http://"+addr+"/readyz/interruption-queue", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// history is every state of NodeClaims and Nodes that watches reported
// from its start on, so that a test sees what an object went through even
// once it is gone.
type history struct {
	mu     sync.Mutex
	claims map[string][]*karpv1.NodeClaim
	nodes  map[string][]*corev1.Node
}

// watchHistory starts recording; it stops when the test ends.
func (e *env) watchHistory() *history {
	e.t.Helper()
	wc, err := client.NewWithWatch(e.cluster.Config, client.Options{Scheme: e.client.Scheme()})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	e.t.Cleanup(cancel)
	claims, err := wc.Watch(ctx, &karpv1.NodeClaimList{})
	if err != nil {
		e.t.Fatal(err)
	}
	nodes, err := e.kube.CoreV1().Nodes().Watch(ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	h := &history{claims: map[string][]*karpv1.NodeClaim{}, nodes: map[string][]*corev1.Node{}}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for ev := range claims.ResultChan() {
			if nc, ok := ev.Object.(*karpv1.NodeClaim); ok {
				h.mu.Lock()
				h.claims[nc.Name] = append(h.claims[nc.Name], nc.DeepCopy())
				h.mu.Unlock()
			}
		}
	}()
	go func() {
		defer wg.Done()
		for ev := range nodes.ResultChan() {
			if n, ok := ev.Object.(*corev1.Node); ok {
				h.mu.Lock()
				h.nodes[n.Name] = append(h.nodes[n.Name], n.DeepCopy())
				h.mu.Unlock()
			}
		}
	}()
	e.t.Cleanup(func() {
		claims.Stop()
		nodes.Stop()
		wg.Wait()
	})
	return h
}

func (h *history) claimSeen(name string, match func(*karpv1.NodeClaim) bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, nc := range h.claims[name] {
		if match(nc) {
			return true
		}
	}
	return false
}

func (h *history) nodeSeen(name string, match func(*corev1.Node) bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.nodes[name] {
		if match(n) {
			return true
		}
	}
	return false
}

func (h *history) claimNames() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return sets.List(sets.KeySet(h.claims))
}

// last is the latest state of a claim seen.
func (h *history) last(name string) *karpv1.NodeClaim {
	h.mu.Lock()
	defer h.mu.Unlock()
	states := h.claims[name]
	return states[len(states)-1]
}
