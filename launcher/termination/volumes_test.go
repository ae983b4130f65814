package termination

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/fieldindex"
)

func attachment(name, node string, volume *string) *storagev1.VolumeAttachment {
	return &storagev1.VolumeAttachment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: storagev1.VolumeAttachmentSpec{
			Attacher: "ebs.csi.aws.com", NodeName: node,
			Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: volume},
		},
	}
}

func boundClaim(name, volume string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       corev1.PersistentVolumeClaimSpec{VolumeName: volume},
	}
}

func withClaim(claim string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
		}})
	}
}

func volumeClient(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := karpv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).WithStatusSubresource(&karpv1.NodeClaim{})
	for _, idx := range fieldindex.All {
		b = b.WithIndex(idx.Object, idx.Field, idx.Extract)
	}
	return b.Build()
}

// TestPendingAttachments: the node waits for the attachments of its volumes
// but not for those of other nodes, those without a PersistentVolume, or
// those of volumes that pods the drain leaves (here one that tolerates the
// disrupted taint, through a generic ephemeral volume too) still use.
func TestPendingAttachments(t *testing.T) {
	ephemeral := pod("tolerant-eph", toleratesEverything, func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}}}
	})
	c := volumeClient(t,
		pod("app", withClaim("app-data")), pod("tolerant", toleratesEverything, withClaim("tolerant-data")), ephemeral,
		boundClaim("app-data", "pv-app"), boundClaim("tolerant-data", "pv-tolerant"), boundClaim("tolerant-eph-scratch", "pv-eph"),
		attachment("va-app", "n1", ptr.To("pv-app")), attachment("va-orphan", "n1", ptr.To("pv-orphan")),
		attachment("va-tolerant", "n1", ptr.To("pv-tolerant")), attachment("va-eph", "n1", ptr.To("pv-eph")),
		attachment("va-inline", "n1", nil), attachment("va-elsewhere", "n2", ptr.To("pv-elsewhere")),
	)
	nt := &NodeTermination{Client: c, Clock: clocktesting.NewFakeClock(time.Now())}
	pending, err := nt.pendingAttachments(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(attachedVolumes(pending), ","), "pv-app,pv-orphan"; got != want {
		t.Errorf("waits for %s, want %s", got, want)
	}
}

// TestAwaitDetachDefaultTimeout: without a terminationGracePeriod the wait
// is bounded by DefaultDetachTimeout from its start; the claim's condition
// and one event say what is waited for, another event when the bound ends
// it, and requeues in between record nothing. A node without a claim waits
// the same.
func TestAwaitDetachDefaultTimeout(t *testing.T) {
	for _, withClaim := range []bool{true, false} {
		t.Run(map[bool]string{true: "claim", false: "no claim"}[withClaim], func(t *testing.T) {
			ctx := context.Background()
			start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
			clk := clocktesting.NewFakeClock(start)
			node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "node-uid"}}
			objs := []client.Object{attachment("va-1", "n1", ptr.To("pv-1"))}
			var claim *karpv1.NodeClaim
			var about client.Object = node
			if withClaim {
				claim = &karpv1.NodeClaim{ObjectMeta: metav1.ObjectMeta{Name: "c1"}}
				objs = append(objs, claim)
				about = claim
			}
			c := volumeClient(t, objs...)
			recorder := record.NewFakeRecorder(100)
			nt := &NodeTermination{Client: c, Recorder: recorder, Clock: clk}
			events := func() []string {
				var out []string
				for len(recorder.Events) > 0 {
					out = append(out, <-recorder.Events)
				}
				return out
			}
			condition := func() *metav1.Condition {
				if claim == nil {
					return nil
				}
				if err := c.Get(ctx, client.ObjectKeyFromObject(claim), claim); err != nil {
					t.Fatal(err)
				}
				return meta.FindStatusCondition(claim.Status.Conditions, karpv1.ConditionTypeVolumesDetached)
			}
			await := func() bool {
				t.Helper()
				waiting, err := nt.awaitDetach(ctx, node, claim, about, nil)
				if err != nil {
					t.Fatal(err)
				}
				return waiting
			}

			if !await() {
				t.Fatal("did not wait for an attached volume")
			}
			if ev := events(); len(ev) != 1 || !strings.Contains(ev[0], "AwaitingVolumeDetachment") || !strings.Contains(ev[0], "waiting for 1 VolumeAttachments to detach: pv-1") {
				t.Errorf("events %q, want one AwaitingVolumeDetachment naming pv-1", ev)
			}
			if cond := condition(); withClaim && (cond == nil || cond.Status != metav1.ConditionUnknown || cond.Reason != reasonAwaitingDetachment) {
				t.Errorf("VolumesDetached is %+v, want Unknown AwaitingVolumeDetachment", cond)
			}
			clk.Step(DefaultDetachTimeout - time.Second)
			if !await() {
				t.Fatal("stopped waiting before the bound")
			}
			if ev := events(); len(ev) != 0 {
				t.Errorf("a requeue recorded %q", ev)
			}
			clk.Step(time.Second)
			if await() {
				t.Fatal("still waiting past the bound")
			}
			if ev := events(); len(ev) != 1 || !strings.Contains(ev[0], "Warning VolumeDetachTimedOut") || !strings.Contains(ev[0], "pv-1") {
				t.Errorf("events %q, want one VolumeDetachTimedOut warning naming pv-1", ev)
			}
			if cond := condition(); withClaim && (cond == nil || cond.Status != metav1.ConditionFalse) {
				t.Errorf("VolumesDetached is %+v, want False", cond)
			}
			if await() || len(events()) != 0 {
				t.Error("after the bound, a requeue waited again or recorded an event")
			}
		})
	}
}

// TestAwaitDetachDone: with nothing attached the node does not wait, and
// the claim says its volumes are detached.
func TestAwaitDetachDone(t *testing.T) {
	ctx := context.Background()
	claim := &karpv1.NodeClaim{ObjectMeta: metav1.ObjectMeta{Name: "c1"}}
	c := volumeClient(t, claim, attachment("va-elsewhere", "n2", ptr.To("pv-2")))
	nt := &NodeTermination{Client: c, Recorder: record.NewFakeRecorder(10), Clock: clocktesting.NewFakeClock(time.Now())}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
	waiting, err := nt.awaitDetach(ctx, node, claim, claim, nil)
	if err != nil || waiting {
		t.Fatalf("waiting %v, %v; want no wait", waiting, err)
	}
	if !meta.IsStatusConditionTrue(claim.Status.Conditions, karpv1.ConditionTypeVolumesDetached) {
		t.Errorf("VolumesDetached is not True: %+v", claim.Status.Conditions)
	}
}
