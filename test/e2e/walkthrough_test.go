package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	launcheraws "github.com/tailor-project/tailor/launcher/aws"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/plugin/simulate"
	"github.com/tailor-project/tailor/plugin/solver"
	"github.com/tailor-project/tailor/plugin/tailor"
)

// TestWalkthrough is the seed's walkthrough, asserted: the basic NodePool
// (01) and the inflate Deployment (08, for tailor-scheduler) scaled to 10
// run 10 pods on Tailor's nodes, every claim through its lifecycle, at the
// price `tailor simulate` predicts for the same pods; scaled to 0, no node
// is left.
func TestWalkthrough(t *testing.T) {
	e := start(t, options{
		files: []string{"01-nodepool-basic.yaml"},
		// The ReplicaSet controller creates the ten pods in slow-start
		// bursts; a batch window that outlasts a loaded control plane's
		// pauses between bursts keeps them in one batch, as `tailor
		// simulate` sees them.
		batchIdle: time.Second,
	})
	holdSpotMarket(t, e)

	d := &appsv1.Deployment{}
	if err := yaml.UnmarshalStrict(e.readExample("08-inflate-deployment.yaml"), d); err != nil {
		t.Fatal(err)
	}
	d.Spec.Template.Spec.SchedulerName = schedulerName
	e.create(d)
	e.scale(d.Name, 10)

	pods := e.running("inflate", 10)
	claims := e.mustClaims()
	byNode := claimOfNode(claims)
	for name, n := range e.nodesOf(pods) {
		if n.Labels[wellknown.NodePoolLabel] != "default" || byNode[name] == nil {
			t.Errorf("node %s of NodePool %q has no NodeClaim of NodePool default\n%s", name, n.Labels[wellknown.NodePoolLabel], e.dump())
		}
	}
	for _, nc := range claims {
		if missing := notThrough(&nc); len(missing) > 0 {
			t.Errorf("NodeClaim %s is not %s\n%s", nc.Name, strings.Join(missing, ", "), e.dump())
		}
	}

	predicted := predict(t, e, "01-nodepool-basic.yaml", seedClass, 10)
	if len(predicted.Unplaced) > 0 {
		t.Fatalf("tailor simulate cannot place %d pods: %v", len(predicted.Unplaced), predicted.Unplaced)
	}
	planned, want := plannedPrices(t, claims), predictedPrices(predicted)
	if !samePrices(planned, want) {
		t.Errorf("the fleet is planned at %v ($%.4f/h); tailor simulate predicts %v ($%.4f/h)\n%s",
			planned, sum(planned), want, sum(want), e.dump())
	}

	// The seed's budget stops disruption for an hour every weekday
	// morning, and its consolidateAfter is a minute: neither is what this
	// step is about.
	patch := `{"spec":{"disruption":{"consolidateAfter":"2s","budgets":[{"nodes":"100%"}]}}}`
	np := &karpv1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if err := e.client.Patch(e.ctx, np, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatalf("patching NodePool default: %v", err)
	}
	e.scale(d.Name, 0)
	e.eventually("no pod, NodeClaim, node or live instance is left", func() (bool, error) {
		pods, err := e.pods("inflate")
		if err != nil {
			return false, err
		}
		claims, err := e.claims()
		if err != nil {
			return false, err
		}
		nodes, err := e.tailorNodes()
		if err != nil {
			return false, err
		}
		instances := 0
		for _, inst := range e.cluster.Simulator.Instances() {
			if live(inst.State) {
				instances++
			}
		}
		if len(pods)+len(claims)+len(nodes)+instances > 0 {
			return false, fmt.Errorf("%d pods, %d NodeClaims, %d nodes, %d live instances", len(pods), len(claims), len(nodes), instances)
		}
		return true, nil
	})
}

// holdSpotMarket moves the simulated clock just past the top of an hour.
// Simulated spot prices change once per simulated hour; the plugin and the
// prediction read them at different moments, which must fall in the same
// hour for their prices to agree.
func holdSpotMarket(t *testing.T, e *env) {
	t.Helper()
	clk := e.cluster.Simulator.Clock()
	now := clk.Now()
	next := now.Truncate(time.Hour).Add(time.Hour + time.Minute)
	if err := clk.Advance(next.Sub(now)); err != nil {
		t.Fatal(err)
	}
}

// predict runs the code path of `tailor simulate --online -f pool -f class
// -f 08-inflate-deployment.yaml` with the Deployment at replicas: the same
// reading of the files, the same catalog source (EC2 and the Pricing API,
// here the simulator), the default profile's Filter plugins, and the solver.
// cmd/tailor is package main, so its steps are repeated here one by one.
func predict(t *testing.T, e *env, poolFile, classFile string, replicas int32) *solver.Result {
	t.Helper()
	var nps []*karpv1.NodePool
	classes := map[string]*ec2v1.EC2NodeClass{}
	var pending []*corev1.Pod
	for _, file := range []string{poolFile, classFile, "08-inflate-deployment.yaml"} {
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(e.readExample(file))))
		for {
			data, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if len(bytes.TrimSpace(data)) == 0 {
				continue
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(data, &tm); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			switch tm.Kind {
			case "NodePool":
				np := &karpv1.NodePool{}
				if err := yaml.UnmarshalStrict(data, np); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				nps = append(nps, np)
			case "EC2NodeClass":
				nc := &ec2v1.EC2NodeClass{}
				if err := yaml.UnmarshalStrict(data, nc); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				classes[nc.Name] = nc
			case "Deployment":
				d := &appsv1.Deployment{}
				if err := yaml.UnmarshalStrict(data, d); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				d.Spec.Replicas = &replicas
				pending = append(pending, replicasOf(d)...)
			}
		}
	}

	return solve(t, e, nps, classes, pending)
}

// solve runs the solver of `tailor simulate --online` over pending pods and
// NodePools with their classes: the catalog of the SDK's configuration (the
// simulator), the default profile's Filter plugins, an empty cluster.
func solve(t *testing.T, e *env, nps []*karpv1.NodePool, classes map[string]*ec2v1.EC2NodeClass, pending []*corev1.Pod) *solver.Result {
	t.Helper()
	ec2Client, pricingClient := launcheraws.NewClients(e.cluster.AWS, launcheraws.Endpoints{})
	source, err := launcheraws.NewSource(ec2Client, pricingClient, launcheraws.Options{Region: e.cluster.AWS.Region})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New(source, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var pools []*solver.Pool
	for _, np := range nps {
		var class *ec2v1.EC2NodeClass
		if ref := np.Spec.Template.Spec.NodeClassRef; ref != nil {
			class = classes[ref.Name]
		}
		types, err := cat.InstanceTypes(e.ctx, np, class)
		if err != nil {
			t.Fatalf("NodePool %s: %v", np.Name, err)
		}
		var remaining corev1.ResourceList
		if len(np.Spec.Limits) > 0 {
			remaining = corev1.ResourceList(np.Spec.Limits).DeepCopy()
		}
		pools = append(pools, &solver.Pool{NodePool: np, Requirements: requirements.FromNodePool(np), InstanceTypes: types,
			DaemonOverhead: solver.DaemonOverhead(np, nil), Remaining: remaining})
	}
	prof, err := simulate.DefaultProfile()
	if err != nil {
		t.Fatal(err)
	}
	snap := simulate.NewSnapshot(nil, nil)
	simulate.AddPlaceholders(snap, pools)
	sim, err := simulate.NewOffline(e.ctx, prof, snap)
	if err != nil {
		t.Fatal(err)
	}
	return solver.Solve(solver.Input{Pods: pending, Pools: pools, Checker: sim, EmptyDomains: true})
}

// replicasOf makes the pods of one ReplicaSet of the Deployment, as
// `tailor simulate` does.
func replicasOf(d *appsv1.Deployment) []*corev1.Pod {
	owner := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: d.Name,
		UID: types.UID("deployment/" + d.Namespace + "/" + d.Name), Controller: ptr.To(true)}
	pods := make([]*corev1.Pod, *d.Spec.Replicas)
	for i := range pods {
		p := &corev1.Pod{ObjectMeta: *d.Spec.Template.ObjectMeta.DeepCopy(), Spec: *d.Spec.Template.Spec.DeepCopy()}
		p.Name = fmt.Sprintf("%s-%d", d.Name, i)
		p.Namespace = d.Namespace
		if p.Namespace == "" {
			p.Namespace = metav1.NamespaceDefault
		}
		p.UID = types.UID(p.Namespace + "/" + p.Name)
		p.OwnerReferences = []metav1.OwnerReference{owner}
		pods[i] = p
	}
	return pods
}

// plannedPrices are the claims' planned prices, sorted.
func plannedPrices(t *testing.T, claims []karpv1.NodeClaim) []float64 {
	t.Helper()
	var out []float64
	for _, nc := range claims {
		p, err := strconv.ParseFloat(nc.Annotations[tailor.PriceAnnotation], 64)
		if err != nil {
			t.Fatalf("NodeClaim %s: annotation %s is %q: %v", nc.Name, tailor.PriceAnnotation, nc.Annotations[tailor.PriceAnnotation], err)
		}
		out = append(out, p)
	}
	sort.Float64s(out)
	return out
}

// predictedPrices are the predicted nodes' prices as the plugin writes them
// on claims, with four decimals, sorted.
func predictedPrices(res *solver.Result) []float64 {
	var out []float64
	for _, n := range res.Nodes {
		p, _ := strconv.ParseFloat(fmt.Sprintf("%.4f", n.Price), 64)
		out = append(out, p)
	}
	sort.Float64s(out)
	return out
}

func samePrices(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-9 {
			return false
		}
	}
	return true
}

func sum(prices []float64) float64 {
	total := 0.0
	for _, p := range prices {
		total += p
	}
	return total
}
