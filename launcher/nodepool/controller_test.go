package nodepool

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/test/controlplane"
)

var (
	cp   *controlplane.ControlPlane
	kube client.Client
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if cp, err = controlplane.Start(context.Background(), controlplane.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := cp.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, karpv1.AddToScheme, ec2v1.AddToScheme} {
		if err := add(scheme); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if kube, err = client.New(cp.Config, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

const classYAML = `
spec:
  amiSelectorTerms: [{alias: al2023@latest}]
  role: NodeRole
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
`

// newClass creates a class, Ready or not.
func newClass(t *testing.T, name string, ready bool) *ec2v1.EC2NodeClass {
	t.Helper()
	nc := &ec2v1.EC2NodeClass{}
	if err := yaml.UnmarshalStrict([]byte(classYAML), nc); err != nil {
		t.Fatal(err)
	}
	nc.Name = name
	if err := kube.Create(context.Background(), nc); err != nil {
		t.Fatal(err)
	}
	status, reason := metav1.ConditionTrue, "Ready"
	if !ready {
		status, reason = metav1.ConditionFalse, "NotReady"
	}
	nc.Status.Conditions = []metav1.Condition{{
		Type: ec2v1.ConditionTypeReady, Status: status, Reason: reason, Message: "SubnetsReady: no subnet matches",
		ObservedGeneration: nc.Generation, LastTransitionTime: metav1.Now(),
	}}
	if err := kube.Status().Update(context.Background(), nc); err != nil {
		t.Fatal(err)
	}
	return nc
}

func newPool(t *testing.T, name, class string, reqs ...karpv1.NodeSelectorRequirementWithMinValues) *karpv1.NodePool {
	t.Helper()
	np := &karpv1.NodePool{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: karpv1.NodePoolSpec{Template: karpv1.NodeClaimTemplate{Spec: karpv1.NodeClaimTemplateSpec{
			Requirements: append([]karpv1.NodeSelectorRequirementWithMinValues{
				{Key: wellknown.CapacityTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"spot", "on-demand"}},
			}, reqs...),
			NodeClassRef: &karpv1.NodeClassReference{Group: ec2v1.GroupVersion.Group, Kind: "EC2NodeClass", Name: class},
		}}},
	}
	if err := kube.Create(context.Background(), np); err != nil {
		t.Fatal(err)
	}
	return np
}

// newClaim creates a claim of the pool, launched with the capacity when it
// has one.
func newClaim(t *testing.T, name, pool string, capacity corev1.ResourceList) {
	t.Helper()
	ctx := context.Background()
	claim := &karpv1.NodeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{wellknown.NodePoolLabel: pool}},
		Spec: karpv1.NodeClaimSpec{
			Requirements: []karpv1.NodeSelectorRequirementWithMinValues{{Key: wellknown.InstanceTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"m5.large"}}},
			NodeClassRef: &karpv1.NodeClassReference{Group: ec2v1.GroupVersion.Group, Kind: "EC2NodeClass", Name: "default"},
		},
	}
	if err := kube.Create(ctx, claim); err != nil {
		t.Fatal(err)
	}
	launched := metav1.ConditionTrue
	if capacity == nil {
		launched = metav1.ConditionUnknown
	}
	claim.Status.Capacity = capacity
	claim.Status.Conditions = []metav1.Condition{{Type: karpv1.ConditionTypeLaunched, Status: launched, Reason: "Launched", LastTransitionTime: metav1.Now()}}
	if err := kube.Status().Update(ctx, claim); err != nil {
		t.Fatal(err)
	}
}

func reconcilePool(t *testing.T, s *Status, name string) *karpv1.NodePool {
	t.Helper()
	if _, err := s.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Name: name}}); err != nil {
		t.Fatal(err)
	}
	np := &karpv1.NodePool{}
	if err := kube.Get(context.Background(), types.NamespacedName{Name: name}, np); err != nil {
		t.Fatal(err)
	}
	return np
}

func capacity(cpu, memory, pods string, extra ...string) corev1.ResourceList {
	out := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory), corev1.ResourcePods: resource.MustParse(pods),
		corev1.ResourceEphemeralStorage: resource.MustParse("20Gi"),
	}
	for i := 0; i+1 < len(extra); i += 2 {
		out[corev1.ResourceName(extra[i])] = resource.MustParse(extra[i+1])
	}
	return out
}

// TestStatus: the pool's status sums its launched claims' capacity and
// counts them, and says it is Ready; kubectl's table shows the count and
// the cpu.
func TestStatus(t *testing.T) {
	newClass(t, "status", true)
	newPool(t, "status", "status")
	newClaim(t, "status-a", "status", capacity("2", "8Gi", "29"))
	newClaim(t, "status-b", "status", capacity("8", "32Gi", "58", "nvidia.com/gpu", "1"))
	newClaim(t, "status-pending", "status", nil)
	newClaim(t, "other-pool", "other", capacity("64", "256Gi", "737"))

	recorder := record.NewFakeRecorder(10)
	s := &Status{Client: kube, Recorder: recorder}
	np := reconcilePool(t, s, "status")

	want := map[corev1.ResourceName]string{
		corev1.ResourceCPU: "10", corev1.ResourceMemory: "40Gi", corev1.ResourcePods: "87", corev1.ResourceEphemeralStorage: "40Gi",
		"nvidia.com/gpu": "1", wellknown.ResourceNodes: "2",
	}
	for name, q := range want {
		if got := np.Status.Resources[name]; got.Cmp(resource.MustParse(q)) != 0 {
			t.Errorf("status.resources[%s] = %s, want %s", name, got.String(), q)
		}
	}
	if len(np.Status.Resources) != len(want) || np.Status.Nodes != 2 {
		t.Errorf("status.resources %v, status.nodes %d", np.Status.Resources, np.Status.Nodes)
	}
	for _, c := range []string{karpv1.ConditionTypeReady, karpv1.ConditionTypeNodeClassReady, karpv1.ConditionTypeValidationSucceeded} {
		if !meta.IsStatusConditionTrue(np.Status.Conditions, c) {
			t.Errorf("condition %s is not True: %+v", c, np.Status.Conditions)
		}
	}
	if ev := <-recorder.Events; !strings.Contains(ev, "NodePool is ready") {
		t.Errorf("event %q, want one that says the pool is ready", ev)
	}

	row := tableRow(t, "status")
	if row["Nodes"] != "2" || row["CPU"] != "10" || row["Ready"] != "True" || row["Memory"] != "40Gi" {
		t.Errorf("kubectl get nodepools shows %v", row)
	}
}

// tableRow reads the pool's row of the table `kubectl get nodepools -o
// wide` prints, by column name.
func tableRow(t *testing.T, name string) map[string]any {
	t.Helper()
	cfg := rest.CopyConfig(cp.Config)
	cfg.GroupVersion = &metav1.SchemeGroupVersion
	cfg.APIPath = "/apis"
	cfg.NegotiatedSerializer = serializer.WithoutConversionCodecFactory{CodecFactory: clientgoscheme.Codecs}
	rc, err := rest.RESTClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rc.Get().AbsPath("/apis", karpv1.GroupVersion.Group, karpv1.GroupVersion.Version, "nodepools", name).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var table metav1.Table
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatal(err)
	}
	if len(table.Rows) != 1 {
		t.Fatalf("%d rows", len(table.Rows))
	}
	row := map[string]any{}
	for i, c := range table.ColumnDefinitions {
		row[c.Name] = table.Rows[0].Cells[i]
	}
	return row
}

// TestNotReady: a pool whose class is missing or not Ready, or whose
// template no node can satisfy, is not Ready and says why, with an event.
func TestNotReady(t *testing.T) {
	newClass(t, "unready", false)
	newClass(t, "ready", true)
	for _, tc := range []struct {
		name, class string
		reqs        []karpv1.NodeSelectorRequirementWithMinValues
		condition   string
		reason      string
		says        string
	}{
		{name: "no-class", class: "missing", condition: karpv1.ConditionTypeNodeClassReady, reason: ReasonNodeClassNotFound, says: "missing does not exist"},
		{name: "unready-class", class: "unready", condition: karpv1.ConditionTypeNodeClassReady, reason: ReasonNodeClassNotReady, says: "no subnet matches"},
		{name: "contradiction", class: "ready", reqs: []karpv1.NodeSelectorRequirementWithMinValues{
			{Key: wellknown.ZoneLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"us-east-1a"}},
			{Key: wellknown.ZoneLabel, Operator: corev1.NodeSelectorOpNotIn, Values: []string{"us-east-1a"}},
		}, condition: karpv1.ConditionTypeValidationSucceeded, reason: ReasonValidationFailed, says: wellknown.ZoneLabel},
		{name: "unknown-instance-key", class: "ready", reqs: []karpv1.NodeSelectorRequirementWithMinValues{
			{Key: "karpenter.k8s.aws/instance-famly", Operator: corev1.NodeSelectorOpIn, Values: []string{"m5"}},
		}, condition: karpv1.ConditionTypeValidationSucceeded, reason: ReasonValidationFailed, says: "instance-famly"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newPool(t, tc.name, tc.class, tc.reqs...)
			recorder := record.NewFakeRecorder(10)
			np := reconcilePool(t, &Status{Client: kube, Recorder: recorder}, tc.name)
			c := meta.FindStatusCondition(np.Status.Conditions, tc.condition)
			ready := meta.FindStatusCondition(np.Status.Conditions, karpv1.ConditionTypeReady)
			if c == nil || c.Status != metav1.ConditionFalse || c.Reason != tc.reason || !strings.Contains(c.Message, tc.says) {
				t.Errorf("%s = %+v, want False %s saying %q", tc.condition, c, tc.reason, tc.says)
			}
			if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != tc.reason {
				t.Errorf("Ready = %+v, want False %s", ready, tc.reason)
			}
			if ev := <-recorder.Events; !strings.HasPrefix(ev, "Warning "+tc.reason) {
				t.Errorf("event %q, want a warning %s", ev, tc.reason)
			}
			if row := tableRow(t, tc.name); row["Ready"] != "False" || row["Nodes"] != "0" {
				t.Errorf("kubectl get nodepools shows %v", row)
			}
		})
	}
}
