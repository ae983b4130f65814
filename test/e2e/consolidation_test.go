package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	launcheraws "github.com/tailor-project/tailor/launcher/aws"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/test/ec2sim"
)

// consolidationWait bounds the wait for the fleet to shrink: the seed's
// consolidateAfter (1m), the 15s validation, a launch and a drain, for
// each of a few consolidation steps.
const consolidationWait = 8 * time.Minute

// maxPending is the longest any pod may wait for a node while the fleet
// consolidates.
const maxPending = 60 * time.Second

// TestConsolidationSeedBasic: the seed's basic pool, as written, with the
// seed's inflate scaled to 20 and then to 6. Consolidation brings the fleet
// within 10% of what `tailor simulate` plans for the 6 pods from scratch,
// priced by the same EC2 (the simulator), and no pod waits for a node
// longer than a minute meanwhile.
//
// Both sides are priced alike: each claim at the cheapest offering its
// requirements allow, which is what the plan's price is. What the launched
// nodes cost is logged beside it: EC2 launches spot capacity with the
// price-capacity-optimized strategy, which the simulator models, and puts
// it in deep pools rather than the cheapest, so a claim may cost more than
// its cheapest offering, whoever decided it.
//
// The disruption loop's clock is set ahead to a Saturday noon: the seed's
// pool forbids disruption on weekdays from 09:00 for an hour, and the
// test must not depend on when it runs.
func TestConsolidationSeedBasic(t *testing.T) {
	e := start(t, options{files: []string{"01-nodepool-basic.yaml"}, disruptionClock: aheadClock{ahead: untilSaturdayNoon(time.Now())}})
	e.inflate(20)
	watch := e.watchPending("inflate")
	e.scale("inflate", 6)
	plan := e.simulatedPrice(6)

	var fleet, paid float64
	var shape string
	err := wait.PollUntilContextTimeout(e.ctx, time.Second, consolidationWait, true, func(context.Context) (bool, error) {
		var err error
		fleet, paid, shape, err = e.fleetPrice("default")
		if err != nil {
			return false, nil
		}
		pods, err := e.pods("inflate")
		if err != nil {
			return false, nil
		}
		running := 0
		for _, p := range pods {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == 6 && len(pods) == 6 && fleet <= 1.10*plan, nil
	})
	worst, overdue := watch()
	if err != nil {
		t.Fatalf("the fleet costs $%.4f/h (%s), not within 10%% of the $%.4f/h `tailor simulate` plans for 6 pods: %v\n%s", fleet, shape, plan, err, e.dump())
	}
	t.Logf("fleet $%.4f/h (%.2fx the plan's $%.4f/h); its launched offerings cost $%.4f/h (%.2fx): %s; the longest a pod waited for a node: %s",
		fleet, fleet/plan, plan, paid, paid/plan, shape, worst.Round(time.Second))
	for _, p := range overdue {
		t.Errorf("pod %s was Pending for longer than %s", p, maxPending)
	}
	e.running("inflate", 6)
}

// untilSaturdayNoon is how far ahead of now the next Saturday noon (UTC)
// is: outside every weekday budget window of the seed.
func untilSaturdayNoon(now time.Time) time.Duration {
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, time.UTC)
	for day.Weekday() != time.Saturday || !day.After(now) {
		day = day.AddDate(0, 0, 1)
	}
	return day.Sub(now)
}

// watchPending follows the pods of app until the returned function is
// called, which reports the longest any pod was seen Pending without a
// node, and the pods Pending for longer than maxPending.
func (e *env) watchPending(app string) func() (time.Duration, []string) {
	var mu sync.Mutex
	since := map[types.UID]time.Time{}
	names := map[types.UID]string{}
	var worst time.Duration
	overdue := map[string]bool{}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = wait.PollUntilContextCancel(ctx, pollInterval, true, func(context.Context) (bool, error) {
			pods, err := e.pods(app)
			if err != nil {
				return false, nil
			}
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			for _, p := range pods {
				if p.Spec.NodeName != "" {
					delete(since, p.UID)
					continue
				}
				first, ok := since[p.UID]
				if !ok {
					// A pod first seen now may have been created up to one
					// poll ago: count from its creation.
					first = p.CreationTimestamp.Time
					since[p.UID], names[p.UID] = first, p.Name
				}
				waited := now.Sub(first)
				worst = max(worst, waited)
				if waited > maxPending {
					overdue[p.Name] = true
				}
			}
			return false, nil
		})
	}()
	return func() (time.Duration, []string) {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for name := range overdue {
			out = append(out, name)
		}
		return worst, out
	}
}

// fleetPrice is what the pool's claims cost an hour, each at the cheapest
// offering its requirements allow, as the plan is priced, and what their
// launched offerings (type, zone, capacity type) cost, at the simulator's
// prices, with the fleet's shape. Claims not yet launched, or being
// deleted, make it unsettled: an error.
func (e *env) fleetPrice(pool string) (cheapest, paid float64, shape string, err error) {
	np := e.nodePool(pool)
	class := &ec2v1.EC2NodeClass{}
	if err := e.client.Get(e.ctx, client.ObjectKey{Name: np.Spec.Template.Spec.NodeClassRef.Name}, class); err != nil {
		return 0, 0, "", err
	}
	types, err := e.simulatorCatalog().InstanceTypes(e.ctx, np, class)
	if err != nil {
		return 0, 0, "", err
	}
	var list karpv1.NodeClaimList
	if err := e.client.List(e.ctx, &list, client.MatchingLabels{wellknown.NodePoolLabel: pool}); err != nil {
		return 0, 0, "", err
	}
	var parts []string
	for _, nc := range list.Items {
		if nc.DeletionTimestamp != nil || nc.Status.NodeName == "" {
			return 0, 0, "", fmt.Errorf("NodeClaim %s is not settled", nc.Name)
		}
		typ, zone, capacityType := nc.Labels[wellknown.InstanceTypeLabel], nc.Labels[wellknown.ZoneLabel], nc.Labels[wellknown.CapacityTypeLabel]
		price, ok := offeringPrice(types, typ, zone, capacityType)
		if !ok {
			return 0, 0, "", fmt.Errorf("NodeClaim %s: the simulator offers no %s %s in %s", nc.Name, capacityType, typ, zone)
		}
		least, ok := cheapestAllowed(types, &nc)
		if !ok {
			return 0, 0, "", fmt.Errorf("NodeClaim %s allows no offering the simulator has", nc.Name)
		}
		cheapest += least
		paid += price
		parts = append(parts, fmt.Sprintf("%s %s in %s $%.4f (cheapest allowed $%.4f)", typ, capacityType, zone, price, least))
	}
	return cheapest, paid, strings.Join(parts, ", "), nil
}

// cheapestAllowed is the price of the cheapest offering a claim's
// requirements allow.
func cheapestAllowed(types []*catalog.InstanceType, nc *karpv1.NodeClaim) (float64, bool) {
	allowed := func(key, value string) bool {
		for _, r := range nc.Spec.Requirements {
			if r.Key == key && r.Operator == corev1.NodeSelectorOpIn {
				return slices.Contains(r.Values, value)
			}
		}
		return true
	}
	best, found := 0.0, false
	for _, it := range types {
		if !allowed(wellknown.InstanceTypeLabel, it.Name) {
			continue
		}
		for _, o := range it.Offerings {
			if o.Available && allowed(wellknown.ZoneLabel, o.Zone) && allowed(wellknown.CapacityTypeLabel, o.CapacityType) && (!found || o.Price < best) {
				best, found = o.Price, true
			}
		}
	}
	return best, found
}

func offeringPrice(types []*catalog.InstanceType, typ, zone, capacityType string) (float64, bool) {
	for _, it := range types {
		if it.Name != typ {
			continue
		}
		for _, o := range it.Offerings {
			if o.Zone == zone && o.CapacityType == capacityType {
				return o.Price, true
			}
		}
	}
	return 0, false
}

// simulatorCatalog reads instance types and prices from the simulator, as
// the plugin and the launcher do.
func (e *env) simulatorCatalog() catalog.Catalog {
	e.t.Helper()
	ec2Client, pricingClient := launcheraws.NewClients(e.cluster.AWS.Copy(), launcheraws.Endpoints{})
	source, err := launcheraws.NewSource(ec2Client, pricingClient, launcheraws.Options{Region: ec2sim.Region})
	if err != nil {
		e.t.Fatal(err)
	}
	cat, err := catalog.New(source, catalog.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	return cat
}

// simulatedPrice runs `tailor simulate --online` on the seed's files, the
// inflate Deployment with n replicas, against the simulator's EC2, and
// returns the plan's hourly price.
func (e *env) simulatedPrice(n int32) float64 {
	e.t.Helper()
	dir := e.t.TempDir()
	inflate := strings.Replace(string(e.readExample("08-inflate-deployment.yaml")), "replicas: 0", fmt.Sprintf("replicas: %d", n), 1)
	if !strings.Contains(inflate, fmt.Sprintf("replicas: %d", n)) {
		e.t.Fatal("the seed's inflate Deployment no longer reads `replicas: 0`")
	}
	files := map[string][]byte{
		"pool.yaml":    e.readExample("01-nodepool-basic.yaml"),
		"class.yaml":   e.readExample(seedClass),
		"inflate.yaml": []byte(inflate),
	}
	args := []string{"simulate", "--online", "-o", "json"}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			e.t.Fatal(err)
		}
		args = append(args, "-f", path)
	}
	cmd := exec.CommandContext(e.ctx, tailorBinary(e.t), args...)
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+e.cluster.Endpoint)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		e.t.Fatalf("tailor %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	var plan struct {
		HourlyPrice float64           `json:"hourlyPrice"`
		Unplaced    map[string]string `json:"unplaced"`
		NodeClaims  []json.RawMessage `json:"nodeClaims"`
	}
	if err := yaml.Unmarshal(out, &plan); err != nil {
		e.t.Fatalf("reading the simulation: %v\n%s", err, out)
	}
	if len(plan.Unplaced) > 0 || plan.HourlyPrice <= 0 {
		e.t.Fatalf("tailor simulate placed not every pod: %s", out)
	}
	e.t.Logf("tailor simulate plans %d NodeClaims for %d pods at $%.4f/h", len(plan.NodeClaims), n, plan.HourlyPrice)
	return plan.HourlyPrice
}
