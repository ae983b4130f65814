package nodeclass

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/fieldindex"
)

// deletedTemplates records the classes whose templates were deleted.
type deletedTemplates []string

func (d *deletedTemplates) DeleteForNodeClass(_ context.Context, nodeClass string) (int, error) {
	*d = append(*d, nodeClass)
	return 1, nil
}

func newController(t *testing.T, objs ...client.Object) (*Controller, client.Client, *record.FakeRecorder, *deletedTemplates) {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{ec2v1.AddToScheme, karpv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).WithStatusSubresource(&ec2v1.EC2NodeClass{}).
		WithIndex(&karpv1.NodeClaim{}, fieldindex.NodeClaimNodeClass, func(o client.Object) []string {
			return []string{o.(*karpv1.NodeClaim).Spec.NodeClassRef.Name}
		}).Build()
	recorder := record.NewFakeRecorder(20)
	templates := &deletedTemplates{}
	return &Controller{Client: c, Resolver: newResolver(t), Templates: templates, Recorder: recorder, Clock: clocktesting.NewFakeClock(time.Now())}, c, recorder, templates
}

func reconcileClass(t *testing.T, c *Controller, name string) reconcile.Result {
	t.Helper()
	res, err := c.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Name: name}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestControllerResolves: a class gets its finalizer, its status and a
// condition for each part, and is looked at again after the refresh
// interval; a part that does not resolve makes it not Ready, with an event.
func TestControllerResolves(t *testing.T) {
	good := classWith(func(*ec2v1.EC2NodeClass) {})
	bad := classWith(func(nc *ec2v1.EC2NodeClass) {
		nc.Name = "bad"
		nc.Spec.UserData = ptr.To("not: [yaml")
	})
	c, kube, recorder, _ := newController(t, good, bad)

	if res := reconcileClass(t, c, "default"); res.RequeueAfter != DefaultRefreshInterval {
		t.Errorf("requeue after %s, want the refresh interval", res.RequeueAfter)
	}
	if err := kube.Get(context.Background(), types.NamespacedName{Name: "default"}, good); err != nil {
		t.Fatal(err)
	}
	if ready, why := IsReady(good); !ready {
		t.Errorf("class not Ready: %s", why)
	}
	if len(good.Finalizers) != 1 || len(good.Status.Subnets) == 0 || len(good.Status.SecurityGroups) == 0 || len(good.Status.AMIs) == 0 || good.Status.InstanceProfile == "" {
		t.Errorf("class %+v lacks its finalizer or status", good)
	}

	reconcileClass(t, c, "bad")
	if err := kube.Get(context.Background(), types.NamespacedName{Name: "bad"}, bad); err != nil {
		t.Fatal(err)
	}
	cond := meta.FindStatusCondition(bad.Status.Conditions, ConditionTypeValidationSucceeded)
	if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != reasonUserDataInvalid {
		t.Errorf("ValidationSucceeded = %+v, want False UserDataInvalid", cond)
	}
	if ready, why := IsReady(bad); ready || !strings.Contains(why, "userData is not valid for AMI family AL2023") {
		t.Errorf("IsReady = %v, %q", ready, why)
	}
	found := false
	for len(recorder.Events) > 0 {
		found = found || strings.Contains(<-recorder.Events, reasonUserDataInvalid)
	}
	if !found {
		t.Error("no UserDataInvalid event")
	}
}

// TestControllerFinalizes: a deleted class waits while NodeClaims use it,
// then its templates and instance profile go, and so does it.
func TestControllerFinalizes(t *testing.T) {
	nc := classWith(func(nc *ec2v1.EC2NodeClass) {
		nc.Finalizers = []string{Finalizer}
		nc.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	})
	claim := &karpv1.NodeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "user"},
		Spec:       karpv1.NodeClaimSpec{NodeClassRef: &karpv1.NodeClassReference{Name: "default"}},
	}
	c, kube, recorder, templates := newController(t, nc, claim)
	profile, err := c.Resolver.InstanceProfile(context.Background(), nc)
	if err != nil {
		t.Fatal(err)
	}

	if res := reconcileClass(t, c, "default"); res.RequeueAfter == 0 || len(*templates) != 0 {
		t.Errorf("a class in use was finalized (requeue %s, templates deleted %v)", res.RequeueAfter, *templates)
	}
	if event := <-recorder.Events; !strings.Contains(event, "WaitingOnNodeClaims") || !strings.Contains(event, "user") {
		t.Errorf("event %q, want one naming the claim it waits for", event)
	}

	if err := kube.Delete(context.Background(), claim); err != nil {
		t.Fatal(err)
	}
	reconcileClass(t, c, "default")
	if err := kube.Get(context.Background(), types.NamespacedName{Name: "default"}, nc); err == nil {
		t.Error("the class outlived its finalizer")
	}
	if len(*templates) != 1 || (*templates)[0] != "default" {
		t.Errorf("templates deleted for %v, want the class's", *templates)
	}
	if _, err := c.Resolver.IAM.GetInstanceProfile(context.Background(), &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(profile)}); err == nil {
		t.Errorf("instance profile %s outlived the class", profile)
	}
}
