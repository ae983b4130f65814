package tailor

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/plugin/disruption"
)

// TestSessionPlansAsDisplace: a session plans each displacement as Displace
// does on a fresh reading of the cluster, however many it planned before:
// every node alone, as single-node consolidation asks, then the prefixes
// multi-node consolidation tries. The fleet is the benchmark's, smaller.
func TestSessionPlansAsDisplace(t *testing.T) {
	w, err := buildBenchFleet(40, 400)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cluster, err := newBenchCluster(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	objects, err := cluster.objects()
	if err != nil {
		t.Fatal(err)
	}
	tl := cluster.tailor(objects)
	session, err := tl.Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var cases [][]string
	for _, n := range w.nodes {
		cases = append(cases, []string{n.Name})
	}
	for _, k := range []int{2, 5, 10, 20} {
		var prefix []string
		for _, n := range w.nodes[:k] {
			prefix = append(prefix, n.Name)
		}
		cases = append(cases, prefix)
	}
	replaced := 0
	for _, nodes := range cases {
		fresh, err := tl.Displace(ctx, nodes)
		if err != nil {
			t.Fatal(err)
		}
		planned, err := session.Displace(ctx, nodes)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := describePlan(planned), describePlan(fresh); got != want {
			t.Errorf("without %v:\nsession: %s\nfresh:   %s", nodes, got, want)
		}
		if len(fresh.Nodes) > 0 && len(fresh.Nodes) < len(fresh.Pods) {
			replaced++
		}
	}
	if replaced == 0 {
		t.Error("no plan put pods on the other nodes and on new ones both; the comparison proves little")
	}
}

// describePlan spells a plan by pod names, so plans of copies compare.
func describePlan(p *disruption.Plan) string {
	parts := []string{fmt.Sprintf("%d pods, $%.4f/h", len(p.Pods), p.Price)}
	for _, n := range p.Nodes {
		var pods, types []string
		for _, pod := range n.Pods {
			pods = append(pods, pod.Name)
		}
		for _, it := range n.InstanceTypes {
			types = append(types, it.Name)
		}
		sort.Strings(pods)
		parts = append(parts, fmt.Sprintf("new %s $%.4f <- %s", strings.Join(types, "|"), n.Price, strings.Join(pods, ",")))
	}
	var unplaced []string
	for pod, err := range p.Unplaced {
		unplaced = append(unplaced, fmt.Sprintf("unplaced %s: %v", pod.Name, err))
	}
	sort.Strings(unplaced)
	sort.Strings(parts[1:])
	return strings.Join(append(parts, unplaced...), "; ")
}

// TestSessionReadsAgainAfterAChange: a search takes the world the search
// before it read while nothing it was read from changed, and reads it again
// after a NodeClaim or a pod changed; either way it plans as Displace does
// on a fresh reading.
func TestSessionReadsAgainAfterAChange(t *testing.T) {
	w, err := buildBenchFleet(20, 200)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cluster, err := newBenchCluster(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	objects, err := cluster.objects()
	if err != nil {
		t.Fatal(err)
	}
	tl := cluster.tailor(objects)
	node := w.nodes[3].Name
	search := func(ctx context.Context) *world {
		t.Helper()
		var claims karpv1.NodeClaimList
		if err := objects.List(ctx, &claims); err != nil {
			t.Fatal(err)
		}
		planner, err := tl.SessionWith(ctx, claims.Items)
		if err != nil {
			t.Fatal(err)
		}
		planned, err := planner.Displace(ctx, []string{node})
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := tl.Displace(ctx, []string{node})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := describePlan(planned), describePlan(fresh); got != want {
			t.Errorf("without %s:\nsession: %s\nfresh:   %s", node, got, want)
		}
		return planner.(*session).w
	}

	first := search(ctx)
	if again := search(ctx); again != first {
		t.Error("nothing changed, yet the second search read the world again")
	}

	touch := func(value string) {
		t.Helper()
		nc := &karpv1.NodeClaim{}
		if err := objects.Get(ctx, client.ObjectKey{Name: w.claims[0].Name}, nc); err != nil {
			t.Fatal(err)
		}
		nc.Annotations["example.com/touched"] = value
		if err := objects.Update(ctx, nc); err != nil {
			t.Fatal(err)
		}
	}
	touch("once")
	afterClaim := search(ctx)
	if afterClaim == first {
		t.Error("a NodeClaim changed, yet the search took the last world")
	}

	// A pod lands on the node the search takes away: it is displaced too.
	pod := w.pods[0].DeepCopy()
	pod.Name, pod.UID, pod.Spec.NodeName = "late-arrival", "late-arrival", node
	if _, err := cluster.handle.ClientSet().CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lister := cluster.handle.SharedInformerFactory().Core().V1().Pods().Lister()
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		_, err := lister.Pods(pod.Namespace).Get(pod.Name)
		return err == nil, nil
	}); err != nil {
		t.Fatalf("the informer never saw the new pod: %v", err)
	}
	afterPod := search(ctx)
	if afterPod == afterClaim {
		t.Error("a pod was added, yet the search took the last world")
	}

	// The simulator of a reading runs the plugins with the context it was
	// read in: once that ended, the next search reads again.
	touch("twice")
	ended, end := context.WithCancel(ctx)
	inEnded := search(ended)
	if inEnded == afterPod {
		t.Fatal("a NodeClaim changed, yet the search took the last world")
	}
	end()
	if search(ctx) == inEnded {
		t.Error("the search took a world read in a context that ended")
	}
}
