package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/test/ec2sim"
)

// driftPool is a NodePool of a drift scenario, in the three zones. Its
// budget holds drifted nodes in place: marking them is the launcher's,
// replacing them the disruption loop's, and these tests watch the marks.
func driftPool(name string) *karpv1.NodePool {
	reqs := append(slices.Clone(onDemand),
		req(wellknown.ZoneLabel, corev1.NodeSelectorOpIn, "us-east-1a", "us-east-1b", "us-east-1c"),
		req(wellknown.InstanceCategoryLabel, corev1.NodeSelectorOpIn, "c", "m", "r"))
	np := scenarioPool(name, name, reqs...)
	np.Spec.Disruption.Budgets = []karpv1.Budget{{Nodes: "0", Reasons: []karpv1.DisruptionReason{karpv1.DisruptionReasonDrifted}}}
	return np
}

// nodePerPod is a workload of the scenario whose pods each take a node of
// their own, spread over the zones.
func nodePerPod(name, scenario string, replicas int32) *appsv1.Deployment {
	d := scenarioWorkload(name, scenario, replicas, "1", func(s *corev1.PodSpec) {
		selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}
		s.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: wellknown.ZoneLabel, WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: selector,
		}}
		s.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: wellknown.HostnameLabel, LabelSelector: selector}},
		}}
	})
	return d
}

// TestDriftNodePoolTemplate: kubectl shows what a pool holds; narrowing
// the pool's zones drifts only the node outside them; a label added to the
// template drifts every node of the pool.
func TestDriftNodePoolTemplate(t *testing.T) {
	e := start(t, options{})
	e.create(driftPool("template"))
	e.create(nodePerPod("template", "template", 3))
	e.running("template", 3)
	claims := e.launchedClaims("template", 3)

	// The scheduler stamped the template's hash on each claim; the
	// launcher annotated the pool with the same.
	e.eventually("the pool carries the hash its claims were made with", func() (bool, error) {
		np := e.nodePool("template")
		for _, nc := range claims {
			if got, want := nc.Annotations[wellknown.NodePoolHashAnnotation], np.Annotations[wellknown.NodePoolHashAnnotation]; got == "" || got != want {
				return false, fmt.Errorf("NodeClaim %s has hash %q, the pool %q", nc.Name, got, want)
			}
		}
		return true, nil
	})

	// kubectl get nodepools -o wide: the node count and the cpu of the
	// claims' instances.
	cpu := resource.Quantity{}
	for _, nc := range claims {
		cpu.Add(nc.Status.Capacity[corev1.ResourceCPU])
	}
	e.eventually("kubectl get nodepools shows 3 nodes and their cpu", func() (bool, error) {
		row, err := e.nodePoolRow("template")
		if err != nil {
			return false, err
		}
		if row["Nodes"] != "3" || row["CPU"] != cpu.String() || row["Ready"] != "True" {
			return false, fmt.Errorf("row %v, want Nodes 3, CPU %s, Ready True", row, cpu.String())
		}
		return true, nil
	})

	// Narrowing: the zone of one node leaves the requirements.
	gone := claims[0]
	zone := gone.Labels[wellknown.ZoneLabel]
	var kept []string
	for _, z := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
		if z != zone {
			kept = append(kept, z)
		}
	}
	e.updatePool("template", func(np *karpv1.NodePool) {
		for i, r := range np.Spec.Template.Spec.Requirements {
			if r.Key == wellknown.ZoneLabel {
				np.Spec.Template.Spec.Requirements[i].Values = kept
			}
		}
	})
	e.eventually("the node in "+zone+" drifts, and only it", func() (bool, error) {
		for _, nc := range e.launchedClaims("template", 3) {
			c := meta.FindStatusCondition(nc.Status.Conditions, karpv1.ConditionTypeDrifted)
			switch {
			case nc.Name == gone.Name && (c == nil || c.Reason != karpv1.DriftReasonRequirementsDrifted):
				return false, fmt.Errorf("NodeClaim %s in %s: Drifted %+v, want %s", nc.Name, zone, c, karpv1.DriftReasonRequirementsDrifted)
			case nc.Name != gone.Name && c != nil:
				return false, fmt.Errorf("NodeClaim %s in %s drifted: %s %s", nc.Name, nc.Labels[wellknown.ZoneLabel], c.Reason, c.Message)
			}
		}
		return e.hasEvent("NodeClaim", gone.Name, "Drifted", karpv1.DriftReasonRequirementsDrifted)
	})

	// A label added to the template: every node drifts.
	e.updatePool("template", func(np *karpv1.NodePool) { np.Spec.Template.ObjectMeta.Labels["tier"] = "web" })
	e.eventually("every node of the pool drifts from its template", func() (bool, error) {
		for _, nc := range e.launchedClaims("template", 3) {
			c := meta.FindStatusCondition(nc.Status.Conditions, karpv1.ConditionTypeDrifted)
			if c == nil || c.Status != metav1.ConditionTrue || c.Reason != karpv1.DriftReasonNodePoolDrifted {
				return false, fmt.Errorf("NodeClaim %s: Drifted %+v, want %s", nc.Name, c, karpv1.DriftReasonNodePoolDrifted)
			}
			if ok, err := e.hasEvent("NodeClaim", nc.Name, "Drifted", karpv1.DriftReasonNodePoolDrifted); !ok {
				return false, err
			}
		}
		return true, nil
	})
	// The drifted nodes stay, as the budget says, and so do their pods.
	e.running("template", 3)
	e.eventually("every drifted NodeClaim says the budget holds it", func() (bool, error) {
		for _, nc := range e.launchedClaims("template", 3) {
			if ok, err := e.hasEvent("NodeClaim", nc.Name, "DisruptionBlocked", "budget for reason Drifted"); !ok {
				return false, err
			}
		}
		return true, nil
	})

	// A budget of one node at a time for drift: the disruption loop replaces
	// each drifted node, its replacement first, and the new nodes carry the
	// label.
	e.updatePool("template", func(np *karpv1.NodePool) {
		np.Spec.Disruption.Budgets = []karpv1.Budget{{Nodes: "1", Reasons: []karpv1.DisruptionReason{karpv1.DisruptionReasonDrifted}}}
	})
	drifted := sets.New[string]()
	for _, nc := range claims {
		drifted.Insert(nc.Name)
	}
	most := 0
	e.eventually("every drifted node is replaced by one that carries the label", func() (bool, error) {
		var list karpv1.NodeClaimList
		if err := e.client.List(e.ctx, &list, client.MatchingLabels{wellknown.NodePoolLabel: "template"}); err != nil {
			return false, err
		}
		present := sets.New[string]()
		for _, nc := range list.Items {
			present.Insert(nc.Name)
		}
		// In disruption: a drifted node still there that has a replacement
		// or is being drained.
		replacing := sets.New[string]()
		left := 0
		for _, nc := range list.Items {
			if old := nc.Annotations["tailor.sh/replacement-for"]; drifted.Has(old) && present.Has(old) {
				replacing.Insert(old)
			}
			if drifted.Has(nc.Name) {
				left++
				if nc.DeletionTimestamp != nil {
					replacing.Insert(nc.Name)
				}
			}
		}
		// A replaced node is gone once drained; until then it counts.
		most = max(most, replacing.Len())
		pods, err := e.pods("template")
		if err != nil {
			return false, err
		}
		running := 0
		for _, p := range pods {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		if running < 2 {
			t.Errorf("%d of the 3 pods Running while drifted nodes were replaced one at a time", running)
		}
		if left > 0 || running != 3 {
			return false, fmt.Errorf("%d drifted NodeClaims left, %d pods Running", left, running)
		}
		for _, nc := range list.Items {
			if nc.Labels["tier"] != "web" {
				return false, fmt.Errorf("NodeClaim %s lacks the template's new label", nc.Name)
			}
		}
		return true, nil
	})
	if most > 1 {
		t.Errorf("%d drifted nodes were being replaced at once; the budget allows 1", most)
	}
	for _, node := range e.nodesOf(e.running("template", 3)) {
		if node.Labels["tier"] != "web" {
			t.Errorf("node %s runs a pod without the template's new label: %v", node.Name, node.Labels)
		}
	}
}

// TestDriftAMIRelease: a new AL2023 release published in the simulator
// moves al2023@latest; the nodes on the old AMI drift, and a node launched
// after the release runs the new AMI and does not.
func TestDriftAMIRelease(t *testing.T) {
	// Classes are resolved again every few seconds, as they are every few
	// minutes in production, so that the release is seen within the test.
	e := start(t, options{nodeClassRefresh: 2 * time.Second})
	e.create(driftPool("ami"))
	e.create(nodePerPod("ami", "ami", 2))
	e.running("ami", 2)
	before := e.launchedClaims("ami", 2)
	old := sets.New[string]()
	for _, nc := range before {
		old.Insert(nc.Status.ImageID)
	}
	// The launcher stamped the class's hash on each claim it launched, and
	// annotated the class with the same.
	e.eventually("the class carries the hash its claims were launched with", func() (bool, error) {
		nc := &ec2v1.EC2NodeClass{}
		if err := e.client.Get(e.ctx, types.NamespacedName{Name: "default"}, nc); err != nil {
			return false, err
		}
		for _, claim := range before {
			if got, want := claim.Annotations[wellknown.NodeClassHashAnnotation], nc.Annotations[wellknown.NodeClassHashAnnotation]; got == "" || got != want {
				return false, fmt.Errorf("NodeClaim %s has hash %q, the class %q", claim.Name, got, want)
			}
		}
		return true, nil
	})

	release := e.releaseAMIs("al2023", "v20991231")
	released := sets.New[string]()
	for _, img := range release.Images {
		released.Insert(img.ID)
	}
	e.eventually("the class resolves al2023@latest to the release", func() (bool, error) {
		nc := &ec2v1.EC2NodeClass{}
		if err := e.client.Get(e.ctx, types.NamespacedName{Name: "default"}, nc); err != nil {
			return false, err
		}
		for _, ami := range nc.Status.AMIs {
			if !released.Has(ami.ID) {
				return false, fmt.Errorf("the class still resolves to %s (%s)", ami.ID, ami.Name)
			}
		}
		return len(nc.Status.AMIs) > 0, nil
	})
	e.eventually("the nodes on the old AMI drift", func() (bool, error) {
		for _, nc := range e.launchedClaims("ami", 2) {
			c := meta.FindStatusCondition(nc.Status.Conditions, karpv1.ConditionTypeDrifted)
			if c == nil || c.Reason != ec2v1.DriftReasonAMIDrift || !strings.Contains(c.Message, nc.Status.ImageID) {
				return false, fmt.Errorf("NodeClaim %s on %s: Drifted %+v, want %s", nc.Name, nc.Status.ImageID, c, ec2v1.DriftReasonAMIDrift)
			}
			if ok, err := e.hasEvent("NodeClaim", nc.Name, "Drifted", ec2v1.DriftReasonAMIDrift); !ok {
				return false, err
			}
		}
		return true, nil
	})

	// One more pod needs a node of its own: it is launched on the release.
	e.scale("ami", 3)
	e.running("ami", 3)
	for _, nc := range e.launchedClaims("ami", 3) {
		if old.Has(nc.Status.ImageID) {
			continue
		}
		if !released.Has(nc.Status.ImageID) {
			t.Errorf("NodeClaim %s runs %s, neither the old AMIs %v nor the release", nc.Name, nc.Status.ImageID, sets.List(old))
		}
		if c := meta.FindStatusCondition(nc.Status.Conditions, karpv1.ConditionTypeDrifted); c != nil {
			t.Errorf("NodeClaim %s on the new AMI %s is Drifted: %s %s", nc.Name, nc.Status.ImageID, c.Reason, c.Message)
		}
		e.replacedOnRelease(old, released)
		return
	}
	t.Errorf("no NodeClaim was launched after the release\n%s", e.dump())
}

// replacedOnRelease: the pool's budget holds drift (nodes "0" for reason
// Drifted) but not emptiness: a node left empty goes. Once the budget lets
// drift through, every node still on an old AMI is replaced by one on the
// release.
func (e *env) replacedOnRelease(old, released sets.Set[string]) {
	e.t.Helper()
	e.updatePool("ami", func(np *karpv1.NodePool) {
		np.Spec.Disruption.ConsolidateAfter = karpv1.MustParseNillableDuration("2s")
	})
	e.scale("ami", 2)
	e.running("ami", 2)
	e.launchedClaims("ami", 2)
	e.updatePool("ami", func(np *karpv1.NodePool) {
		np.Spec.Disruption.Budgets = []karpv1.Budget{{Nodes: "1", Reasons: []karpv1.DisruptionReason{karpv1.DisruptionReasonDrifted}}}
	})
	e.eventually("the nodes on the old AMI are replaced by nodes on the release", func() (bool, error) {
		var list karpv1.NodeClaimList
		if err := e.client.List(e.ctx, &list, client.MatchingLabels{wellknown.NodePoolLabel: "ami"}); err != nil {
			return false, err
		}
		for _, nc := range list.Items {
			if nc.Status.ImageID == "" || old.Has(nc.Status.ImageID) || !released.Has(nc.Status.ImageID) {
				return false, fmt.Errorf("NodeClaim %s runs %q", nc.Name, nc.Status.ImageID)
			}
		}
		return true, nil
	})
	e.running("ami", 2)
}

// aheadClock is the real clock running a fixed time ahead. The launcher's
// expiry is measured from a claim's creation, stamped by the API server on
// the real clock: a clock that runs ahead by a fixed amount shortens every
// claim's life by that amount and by nothing more, which a clock that runs
// faster would not.
type aheadClock struct {
	clock.RealClock
	ahead time.Duration
}

func (c aheadClock) Now() time.Time                  { return time.Now().Add(c.ahead) }
func (c aheadClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// TestExpiration: with expireAfter 2m, nodes are deleted once they are
// that old, although the pool's budget allows no disruption, and their
// pods end up Running on new nodes. The drain honours the workload's
// PodDisruptionBudget: one pod at most is away at a time.
func TestExpiration(t *testing.T) {
	// The launcher's clock runs 75s ahead, so that a claim expires 45s
	// after its creation instead of 2m.
	e := start(t, options{launcherClock: aheadClock{ahead: 75 * time.Second}})
	np := scenarioPool("expiry", "expiry", onDemand...)
	np.Spec.Template.Spec.ExpireAfter = karpv1.MustParseNillableDuration("2m")
	np.Spec.Disruption.Budgets = []karpv1.Budget{{Nodes: "0"}}
	e.create(np)
	// The budget lets no pod go at first: the expired nodes' drains are
	// refused, whenever each node expires, and the claims say so. Then it
	// lets one go at a time, and at no point does no pod run.
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "expiry", Namespace: namespace},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: ptr.To(intstr.FromInt32(0)),
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "expiry"}},
		},
	}
	e.create(nodePerPod("expiry", "expiry", 2), pdb)
	pods := e.running("expiry", 2)
	originals := e.launchedClaims("expiry", 2)
	oldNodes := sets.New[string]()
	for name := range e.nodesOf(pods) {
		oldNodes.Insert(name)
	}

	e.eventually("an expired node's drain is refused by the PodDisruptionBudget", func() (bool, error) {
		for _, nc := range originals {
			if ok, err := e.hasEvent("NodeClaim", nc.Name, "EvictionBlocked", "expiry"); ok || err != nil {
				return ok, err
			}
		}
		for name := range oldNodes {
			if ok, err := e.hasEvent("Node", name, "EvictionBlocked", "expiry"); ok || err != nil {
				return ok, err
			}
		}
		return false, errors.New("no EvictionBlocked event yet")
	})
	if err := e.client.Get(e.ctx, client.ObjectKeyFromObject(pdb), pdb); err != nil {
		t.Fatal(err)
	}
	pdb.Spec.MaxUnavailable = ptr.To(intstr.FromInt32(1))
	if err := e.client.Update(e.ctx, pdb); err != nil {
		t.Fatal(err)
	}

	// noneRunning is the cluster as seen when no pod ran, if ever.
	var noneRunning string
	e.eventually("the expired nodes are gone and their pods run on new ones", func() (bool, error) {
		claims, err := e.claims()
		if err != nil {
			return false, err
		}
		for _, nc := range claims {
			for _, o := range originals {
				if nc.Name == o.Name {
					return false, fmt.Errorf("NodeClaim %s, created %s, is still there", nc.Name, nc.CreationTimestamp.Format(time.RFC3339))
				}
			}
		}
		list, err := e.pods("expiry")
		if err != nil {
			return false, err
		}
		running, anywhere := 0, 0
		for _, p := range list {
			if p.Status.Phase == corev1.PodRunning {
				anywhere++
				if !oldNodes.Has(p.Spec.NodeName) {
					running++
				}
			}
		}
		if anywhere == 0 && noneRunning == "" {
			noneRunning = e.dump()
		}
		if running != 2 || len(list) != 2 {
			return false, fmt.Errorf("%d pods, %d of them Running on new nodes", len(list), running)
		}
		return true, nil
	})
	if noneRunning != "" {
		t.Errorf("at one point no pod of expiry was Running: the drain did not honour the PodDisruptionBudget\n%s", noneRunning)
	}
	for _, nc := range originals {
		if ok, err := e.hasEvent("NodeClaim", nc.Name, "Expired", "expireAfter (2m)"); !ok {
			t.Errorf("NodeClaim %s: no Expired event: %v", nc.Name, err)
		}
	}
}

// launchedClaims waits until the pool has n launched claims with nodes,
// and returns them by name.
func (e *env) launchedClaims(pool string, n int) []karpv1.NodeClaim {
	e.t.Helper()
	var out []karpv1.NodeClaim
	e.eventually(fmt.Sprintf("NodePool %s has %d NodeClaims with nodes", pool, n), func() (bool, error) {
		var list karpv1.NodeClaimList
		if err := e.client.List(e.ctx, &list, client.MatchingLabels{wellknown.NodePoolLabel: pool}); err != nil {
			return false, err
		}
		out = out[:0]
		for _, nc := range list.Items {
			if nc.DeletionTimestamp == nil && nc.Status.NodeName != "" {
				out = append(out, nc)
			}
		}
		if len(out) != n {
			return false, fmt.Errorf("%d NodeClaims with nodes", len(out))
		}
		return true, nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (e *env) nodePool(name string) *karpv1.NodePool {
	e.t.Helper()
	np := &karpv1.NodePool{}
	if err := e.client.Get(e.ctx, types.NamespacedName{Name: name}, np); err != nil {
		e.t.Fatalf("reading NodePool %s: %v", name, err)
	}
	return np
}

// updatePool changes a pool as kubectl edit would, retrying on conflict
// with the launcher's own writes.
func (e *env) updatePool(name string, change func(*karpv1.NodePool)) {
	e.t.Helper()
	e.eventually("NodePool "+name+" is updated", func() (bool, error) {
		np := e.nodePool(name)
		change(np)
		if err := e.client.Update(e.ctx, np); err != nil {
			return false, err
		}
		return true, nil
	})
}

// hasEvent reports whether an event about the object has the reason and a
// message containing text; the error says what is missing.
func (e *env) hasEvent(kind, name, reason, text string) (bool, error) {
	_, ok, err := e.eventWith(kind, name, reason, text)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, fmt.Errorf("no %s event about %s %s that says %q", reason, kind, name, text)
	}
	return true, nil
}

// nodePoolRow reads the pool's row of `kubectl get nodepools -o wide`
// through the Table API, cell by column name.
func (e *env) nodePoolRow(name string) (map[string]any, error) {
	cfg := rest.CopyConfig(e.cluster.Config)
	cfg.GroupVersion = &metav1.SchemeGroupVersion
	cfg.APIPath = "/apis"
	cfg.NegotiatedSerializer = serializer.WithoutConversionCodecFactory{CodecFactory: clientgoscheme.Codecs}
	rc, err := rest.RESTClientFor(cfg)
	if err != nil {
		return nil, err
	}
	raw, err := rc.Get().AbsPath("/apis", karpv1.GroupVersion.Group, karpv1.GroupVersion.Version, "nodepools", name).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(e.ctx)
	if err != nil {
		return nil, err
	}
	var table metav1.Table
	if err := json.Unmarshal(raw, &table); err != nil {
		return nil, err
	}
	if len(table.Rows) != 1 {
		return nil, fmt.Errorf("%d rows for NodePool %s", len(table.Rows), name)
	}
	row := map[string]any{}
	for i, c := range table.ColumnDefinitions {
		row[c.Name] = table.Rows[0].Cells[i]
	}
	return row, nil
}

// releaseAMIs publishes an AMI release through the simulator's admin
// endpoint, as `curl -X POST $SIM/_sim/amis/releases` does.
func (e *env) releaseAMIs(family, version string) ec2sim.AMIRelease {
	e.t.Helper()
	body := fmt.Sprintf(`{"family":%q,"version":%q}`, family, version)
	ctx, cancel := context.WithTimeout(e.ctx, waitTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cluster.Endpoint+"/_sim/amis/releases", bytes.NewBufferString(body))
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("publishing release %s of %s: %v", version, family, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("publishing release %s of %s: %s %s", version, family, resp.Status, raw)
	}
	var release ec2sim.AMIRelease
	if err := json.Unmarshal(raw, &release); err != nil {
		e.t.Fatal(err)
	}
	return release
}
