package ec2sim

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/tailor-project/tailor/launcher/catalog"
)

const (
	// EBSCSIDriver is the name the EBS CSI driver registers under.
	EBSCSIDriver = "ebs.csi.aws.com"
	// EBSCSITopologyKey is the node label the driver reports its zone under.
	EBSCSITopologyKey = "topology.ebs.csi.aws.com/zone"
)

// csiNodeForLocked is the CSINode kubelet writes once the EBS CSI node
// plugin on the instance has registered: kube-scheduler's NodeVolumeLimits
// reads the node's attach limit from it, so without one a simulated node
// would take any number of EBS volumes.
//
// The limit follows the node plugin: the mappings the instance launched with
// besides its root volume are attached already (IMDS lists them as ebsN),
// and every EFA interface is an ENI besides the primary one.
func csiNodeForLocked(inst *instance, node *corev1.Node) *storagev1.CSINode {
	extra := 0
	for _, d := range inst.BlockDevices {
		if d.DeviceName != inst.Image.RootDevice {
			extra++
		}
	}
	limit := catalog.EBSVolumeLimit(inst.Type, extra, 1+int(inst.EFAs))
	return &storagev1.CSINode{
		// The owner is set by registerCSINode, once the Node has a UID.
		ObjectMeta: metav1.ObjectMeta{Name: node.Name},
		Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{
			Name:         EBSCSIDriver,
			NodeID:       inst.ID,
			TopologyKeys: []string{EBSCSITopologyKey},
			Allocatable:  &storagev1.VolumeNodeResources{Count: ptr.To(int32(limit))},
		}}},
	}
}

// registerCSINode writes want for the Node node, replacing the drivers of a
// CSINode left by an earlier instance of the same name: addresses, and so
// node names, are reused after termination.
func (k *kubelet) registerCSINode(ctx context.Context, log logr.Logger, node *corev1.Node, want *storagev1.CSINode) error {
	want.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID,
	}}
	csiNodes := k.client.StorageV1().CSINodes()
	have, err := csiNodes.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if _, err := csiNodes.Create(ctx, want, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("registering CSINode %s: %w", want.Name, err)
		}
	case err != nil:
		return fmt.Errorf("getting CSINode %s: %w", want.Name, err)
	case len(have.Spec.Drivers) == 1 && have.Spec.Drivers[0].NodeID == want.Spec.Drivers[0].NodeID:
		return nil
	default:
		have = have.DeepCopy()
		have.OwnerReferences, have.Spec = want.OwnerReferences, want.Spec
		if _, err := csiNodes.Update(ctx, have, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("updating CSINode %s: %w", want.Name, err)
		}
	}
	log.Info("CSINode registered", "driver", EBSCSIDriver, "volumes", *want.Spec.Drivers[0].Allocatable.Count)
	return nil
}

// deleteCSINode removes the CSINode the instance registered, as the
// garbage collector would through its owner reference when
// kube-controller-manager runs; it does not always run here. A CSINode of
// another instance of the same name is left alone.
func (k *kubelet) deleteCSINode(ctx context.Context, name, instanceID string) error {
	csiNodes := k.client.StorageV1().CSINodes()
	have, err := csiNodes.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("getting CSINode %s: %w", name, err)
	}
	if len(have.Spec.Drivers) != 1 || have.Spec.Drivers[0].NodeID != instanceID {
		return nil
	}
	err = csiNodes.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &have.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting CSINode %s: %w", name, err)
	}
	return nil
}
