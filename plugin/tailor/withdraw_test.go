package tailor

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/reservation"
	"github.com/tailor-project/tailor/test/controlplane"
)

// TestWithdrawReadsTheAPIServer: whether a claim may be withdrawn is decided
// on a fresh read, not on the plugin's cache, which may not have seen the
// launcher mark it launched. The plugin here has no cache at all: reading
// one would fail the test.
func TestWithdrawReadsTheAPIServer(t *testing.T) {
	cp := controlplane.StartT(t, controlplane.Options{})
	scheme, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	nc := &karpv1.NodeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "launched-meanwhile", Labels: map[string]string{wellknown.NodePoolLabel: "default"}},
		Spec: karpv1.NodeClaimSpec{
			NodeClassRef: &karpv1.NodeClassReference{Group: "karpenter.k8s.aws", Kind: "EC2NodeClass", Name: "default"},
			Requirements: []karpv1.NodeSelectorRequirementWithMinValues{{Key: wellknown.CapacityTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{wellknown.CapacityTypeSpot}}},
		},
	}
	if err := c.Create(ctx, nc); err != nil {
		t.Fatal(err)
	}
	nc.Status.ProviderID = "aws:///us-east-1a/i-0123456789abcdef0"
	meta.SetStatusCondition(&nc.Status.Conditions, metav1.Condition{Type: karpv1.ConditionTypeLaunched, Status: metav1.ConditionTrue, Reason: "Launched"})
	if err := c.Status().Update(ctx, nc); err != nil {
		t.Fatal(err)
	}

	tl := &Tailor{client: c, ledger: reservation.New()}
	tl.ledger.Track(nc.Name)
	tl.withdraw(ctx, nc.Name)
	if err := c.Get(ctx, client.ObjectKeyFromObject(nc), &karpv1.NodeClaim{}); err != nil {
		t.Fatalf("a launched claim was withdrawn: %v", err)
	}
	if tl.ledger.Withdrawing(nc.Name) {
		t.Error("the claim stays marked as withdrawing after its withdrawal was refused")
	}

	// A claim already deleted by someone else is forgotten, for good.
	tl.ledger.Track("deleted-meanwhile")
	tl.withdraw(ctx, "deleted-meanwhile")
	if !tl.ledger.Gone("deleted-meanwhile") {
		t.Error("a claim the API server no longer has is still known")
	}
	if err := c.Get(ctx, client.ObjectKey{Name: "deleted-meanwhile"}, &karpv1.NodeClaim{}); !apierrors.IsNotFound(err) {
		t.Fatalf("reading the deleted claim: %v", err)
	}
}
