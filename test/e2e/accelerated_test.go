package e2e

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// TestAcceleratedWorkloads: pods that need accelerators or EFA run on the
// nodes Tailor buys for them. The seed's class names only al2023@latest,
// yet a GPU node boots the NVIDIA build and an Inferentia node the Neuron
// build: on the standard image no driver finds the devices, the node
// advertises none, and the pods would wait forever. A pod asking for an
// EFA gets a node launched with its adapters attached.
func TestAcceleratedWorkloads(t *testing.T) {
	e := start(t, options{})
	extended := func(name corev1.ResourceName) func(*corev1.PodSpec) {
		return func(s *corev1.PodSpec) {
			q := resource.MustParse("1")
			s.Containers[0].Resources.Requests[name] = q
			s.Containers[0].Resources.Limits = corev1.ResourceList{name: q}
		}
	}
	type scenario struct {
		name     string
		family   string
		resource corev1.ResourceName
		// image is part of the name of the AMI the node must run; empty
		// when any will do.
		image string
	}
	scenarios := []scenario{
		{name: "gpu", family: "g5", resource: wellknown.ResourceNVIDIAGPU, image: "-nvidia-"},
		{name: "neuron", family: "inf2", resource: wellknown.ResourceAWSNeuron, image: "-neuron-"},
		{name: "efa", resource: wellknown.ResourceEFA},
	}
	var workloads []*appsv1.Deployment
	for _, sc := range scenarios {
		reqs := onDemand
		if sc.family != "" {
			// The family alone: g5 and inf2 are older than the
			// generations onDemand allows.
			reqs = []karpv1.NodeSelectorRequirementWithMinValues{
				req(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, wellknown.CapacityTypeOnDemand),
				req(wellknown.InstanceFamilyLabel, corev1.NodeSelectorOpIn, sc.family),
			}
		}
		e.create(scenarioPool(sc.name, sc.name, reqs...))
		d := scenarioWorkload(sc.name, sc.name, 1, "1", extended(sc.resource))
		workloads = append(workloads, d)
		e.create(d)
	}
	for i, sc := range scenarios {
		pods := e.running(workloads[i].Name, 1)
		for _, n := range e.nodesOf(pods) {
			if sc.image != "" && !strings.Contains(n.Status.NodeInfo.OSImage, sc.image) {
				t.Errorf("%s: node %s runs %s, want the image named like %s: %s", sc.name, n.Name, n.Status.NodeInfo.OSImage, sc.image, describeNode(n))
			}
			if q := n.Status.Allocatable[sc.resource]; q.Value() < 1 {
				t.Errorf("%s: node %s has %s=%s allocatable: %s", sc.name, n.Name, sc.resource, q.String(), describeNode(n))
			}
		}
	}
	e.noOrphanInstances()
	claimsThrough(e)
}
