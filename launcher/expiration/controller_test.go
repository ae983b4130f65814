package expiration

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/test/controlplane"
)

var kube client.Client

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	cp, err := controlplane.Start(context.Background(), controlplane.Options{})
	if err != nil {
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

// newClaim creates a claim that expires after expireAfter, on a node.
func newClaim(t *testing.T, name, expireAfter string) *karpv1.NodeClaim {
	t.Helper()
	ctx := context.Background()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name + "-node"}}
	if err := kube.Create(ctx, node); err != nil {
		t.Fatal(err)
	}
	claim := &karpv1.NodeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{wellknown.NodePoolLabel: "default"}},
		Spec: karpv1.NodeClaimSpec{
			Requirements: []karpv1.NodeSelectorRequirementWithMinValues{{Key: wellknown.InstanceTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"m5.large"}}},
			NodeClassRef: &karpv1.NodeClassReference{Group: "karpenter.k8s.aws", Kind: "EC2NodeClass", Name: "default"},
			ExpireAfter:  karpv1.MustParseNillableDuration(expireAfter),
		},
	}
	if err := kube.Create(ctx, claim); err != nil {
		t.Fatal(err)
	}
	claim.Status.NodeName = node.Name
	if err := kube.Status().Update(ctx, claim); err != nil {
		t.Fatal(err)
	}
	return claim
}

// TestExpiration: a claim is left alone until its expireAfter has passed
// since its creation, then deleted with an event on it and on its node; a
// claim that never expires is never deleted.
// reconcileClaim reconciles the claim once, checks whether it was deleted
// and when it is looked at again, and returns the events recorded.
func reconcileClaim(t *testing.T, r reconcile.Reconciler, recorder *record.FakeRecorder, name string, wantDeleted bool, wantRequeue time.Duration) []string {
	t.Helper()
	ctx := context.Background()
	res, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: types.NamespacedName{Name: name}})
	if err != nil {
		t.Fatal(err)
	}
	err = kube.Get(ctx, types.NamespacedName{Name: name}, &karpv1.NodeClaim{})
	deleted := apierrors.IsNotFound(err)
	if deleted != wantDeleted || res.RequeueAfter != wantRequeue {
		t.Fatalf("deleted %v, requeued after %s; want %v, %s", deleted, res.RequeueAfter, wantDeleted, wantRequeue)
	}
	close(recorder.Events)
	var events []string
	for ev := range recorder.Events {
		events = append(events, ev)
	}
	return events
}

func TestExpiration(t *testing.T) {
	for _, tc := range []struct {
		name        string
		expireAfter string
		age         time.Duration
		wantDeleted bool
		wantRequeue time.Duration
	}{
		{"young", "2m", 30 * time.Second, false, 90 * time.Second},
		{"expired", "2m", 2 * time.Minute, true, 0},
		{"long expired", "72h", 100 * time.Hour, true, 0},
		{"never", "Never", 10000 * time.Hour, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "claim-" + strings.ReplaceAll(tc.name, " ", "-")
			claim := newClaim(t, name, tc.expireAfter)
			recorder := record.NewFakeRecorder(10)
			e := &Expiration{Client: kube, Recorder: recorder, Clock: clocktesting.NewFakeClock(claim.CreationTimestamp.Add(tc.age))}
			events := reconcileClaim(t, e, recorder, name, tc.wantDeleted, tc.wantRequeue)
			if !tc.wantDeleted {
				if len(events) > 0 {
					t.Errorf("events %v for a claim that stays", events)
				}
				return
			}
			if len(events) != 2 || !strings.HasPrefix(events[0], "Normal "+ReasonExpired) || !strings.Contains(events[0], tc.expireAfter) ||
				!strings.Contains(events[1], name) {
				t.Errorf("events %v, want %s on the claim and on its node", events, ReasonExpired)
			}
		})
	}
}
