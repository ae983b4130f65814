package manager_test

import (
	"strings"
	"testing"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/instance"
)

// attachment is a VolumeAttachment of the PersistentVolume to the node, as
// the attach-detach controller makes for an EBS volume.
func attachment(name, node, volume string) *storagev1.VolumeAttachment {
	return &storagev1.VolumeAttachment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: storagev1.VolumeAttachmentSpec{
			Attacher: "ebs.csi.aws.com",
			NodeName: node,
			Source:   storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To(volume)},
		},
	}
}

// deletedWithAttachment launches a claim, attaches a volume to its node and
// deletes the claim; it returns the instance and the attachment.
func (e *env) deletedWithAttachment(claim *karpv1.NodeClaim) (string, *storagev1.VolumeAttachment) {
	e.t.Helper()
	e.create(claim)
	e.claimCondition(claim, karpv1.ConditionTypeInitialized, metav1.ConditionTrue)
	id, err := instance.ParseProviderID(claim.Status.ProviderID)
	if err != nil {
		e.t.Fatal(err)
	}
	va := attachment("va-"+claim.Name, claim.Status.NodeName, "pv-"+claim.Name)
	e.create(va)
	if err := e.kube.Delete(e.ctx, claim); err != nil {
		e.t.Fatal(err)
	}
	return id, va
}

func (e *env) instanceGone(id string) bool {
	switch e.instance(id).State.Name {
	case ec2types.InstanceStateNameShuttingDown, ec2types.InstanceStateNameTerminated:
		return true
	}
	return false
}

// keeps fails the test if the instance is terminated within a few seconds,
// while the attachment remains.
func (e *env) keeps(id string, va *storagev1.VolumeAttachment) {
	e.t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if e.instanceGone(id) {
			e.t.Fatalf("instance %s was terminated while VolumeAttachment %s remained", id, va.Name)
		}
	}
}

// TestTerminationWaitsForVolumeDetachment: a deleted claim's drained node
// keeps its instance while a VolumeAttachment for it remains, the claim
// saying why, and the instance is terminated once the attachment is gone.
func TestTerminationWaitsForVolumeDetachment(t *testing.T) {
	e := newEnv(t)
	l := e.startLauncher(launcherConfig{})
	e.readyClass(nodeClass("default"))
	claim := nodeClaim("attached", "default", onDemandCOrM...)
	id, va := e.deletedWithAttachment(claim)

	// The node has no pods: its drain is over at once, and the instance
	// must outlast the attachment.
	e.keeps(id, va)
	cond := e.claimCondition(claim, karpv1.ConditionTypeVolumesDetached, metav1.ConditionUnknown)
	if want := "waiting for 1 VolumeAttachments to detach: pv-attached"; cond.Message != want {
		t.Errorf("VolumesDetached says %q, want %q", cond.Message, want)
	}
	if message := e.eventWith(claim, "AwaitingVolumeDetachment"); !strings.Contains(message, "pv-attached") {
		t.Errorf("AwaitingVolumeDetachment event %q does not name the volume", message)
	}
	e.keeps(id, va)
	if err := e.kube.Get(e.ctx, clientKey(claim), claim); err != nil {
		t.Fatalf("the claim went while its volume was attached: %v", err)
	}

	if err := e.kube.Delete(e.ctx, va); err != nil {
		t.Fatal(err)
	}
	e.eventually("the instance is terminated once the volume has detached", func() (bool, error) {
		return e.instanceGone(id), nil
	})
	e.gone(claim)
	e.running(l)
}

// TestVolumeDetachmentBoundedByTerminationGracePeriod: an attachment that
// never goes keeps the instance only until the claim's
// terminationGracePeriod ends; then it is terminated, with a warning.
func TestVolumeDetachmentBoundedByTerminationGracePeriod(t *testing.T) {
	e := newEnv(t)
	l := e.startLauncher(launcherConfig{})
	e.readyClass(nodeClass("default"))
	claim := nodeClaim("stuck", "default", onDemandCOrM...)
	claim.Spec.TerminationGracePeriod = &metav1.Duration{Duration: 15 * time.Second}
	id, va := e.deletedWithAttachment(claim)

	e.keeps(id, va)
	e.claimCondition(claim, karpv1.ConditionTypeVolumesDetached, metav1.ConditionUnknown)
	e.eventually("the instance is terminated when the grace period ends", func() (bool, error) {
		return e.instanceGone(id), nil
	})
	if message := e.eventWith(claim, "VolumeDetachTimedOut"); !strings.Contains(message, "termination grace period") || !strings.Contains(message, "pv-stuck") {
		t.Errorf("VolumeDetachTimedOut event %q does not say why or what", message)
	}
	e.gone(claim)
	e.running(l)
}
