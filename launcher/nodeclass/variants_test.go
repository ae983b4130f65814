package nodeclass

import (
	"context"
	"strings"
	"testing"
	"time"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// TestAliasVariants: an alias resolves to the accelerated builds beside the
// standard one, and the first AMI whose requirements an instance type's
// labels meet, as a launch picks, is the build for its hardware.
func TestAliasVariants(t *testing.T) {
	cpu := map[string]string{wellknown.ArchLabel: wellknown.ArchAMD64}
	gpu := map[string]string{wellknown.ArchLabel: wellknown.ArchAMD64, wellknown.InstanceGPUCountLabel: "1"}
	armGPU := map[string]string{wellknown.ArchLabel: wellknown.ArchARM64, wellknown.InstanceGPUCountLabel: "1"}
	neuron := map[string]string{wellknown.ArchLabel: wellknown.ArchAMD64, wellknown.InstanceAcceleratorCountLabel: "1"}
	armCPU := map[string]string{wellknown.ArchLabel: wellknown.ArchARM64}
	tests := []struct {
		alias, kubernetes string
		// want maps a type's labels to a part of the AMI name it boots; ""
		// means no AMI serves it.
		want []struct {
			labels map[string]string
			name   string
		}
	}{
		{alias: "al2023@latest", kubernetes: "1.34", want: []struct {
			labels map[string]string
			name   string
		}{
			{cpu, "al2023-x86_64-standard-1.34"}, {gpu, "al2023-x86_64-nvidia-1.34"},
			{armGPU, "al2023-arm64-nvidia-1.34"}, {neuron, "al2023-x86_64-neuron-1.34"},
			{armCPU, "al2023-arm64-standard-1.34"},
		}},
		{alias: "al2023@v20250715", kubernetes: "1.34", want: []struct {
			labels map[string]string
			name   string
		}{
			{gpu, "al2023-x86_64-nvidia-1.34-v20250715"}, {cpu, "al2023-x86_64-standard-1.34-v20250715"},
		}},
		{alias: "al2@latest", kubernetes: "1.32", want: []struct {
			labels map[string]string
			name   string
		}{
			{cpu, "amazon-eks-node-1.32"}, {gpu, "amazon-eks-gpu-node-1.32"}, {neuron, "amazon-eks-gpu-node-1.32"},
			{armCPU, "amazon-eks-arm64-node-1.32"}, {armGPU, ""},
		}},
		{alias: "bottlerocket@latest", kubernetes: "1.34", want: []struct {
			labels map[string]string
			name   string
		}{
			{cpu, "aws-k8s-1.34-x86_64"}, {gpu, "aws-k8s-1.34-nvidia-x86_64"}, {armGPU, "aws-k8s-1.34-nvidia-arm64"},
			{neuron, "aws-k8s-1.34-x86_64"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.alias, func(t *testing.T) {
			r := newResolver(t)
			r.KubernetesVersion = func(context.Context) (string, error) { return tc.kubernetes, nil }
			amis, err := r.AMIs(context.Background(), classWith(func(nc *ec2v1.EC2NodeClass) {
				nc.Spec.AMISelectorTerms = []ec2v1.AMISelectorTerm{{Alias: tc.alias}}
			}), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				got := ""
				for _, ami := range amis {
					if requirements.FromNodeSelectorRequirements(ami.Requirements...).MatchesLabels(w.labels) == nil {
						got = ami.Name
						break
					}
				}
				if (w.name == "") != (got == "") || !strings.Contains(got, w.name) {
					t.Errorf("a type labelled %v boots %q, want one named like %q; AMIs %+v", w.labels, got, w.name, amis)
				}
			}
		})
	}
}

// TestNVIDIAVariantRequirements: the status lists the NVIDIA image with the
// requirement Karpenter gives it, so tools reading either see the same.
func TestNVIDIAVariantRequirements(t *testing.T) {
	r := newResolver(t)
	amis, err := r.AMIs(context.Background(), classWith(func(*ec2v1.EC2NodeClass) {}), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, ami := range amis {
		if !strings.Contains(ami.Name, "x86_64-nvidia") {
			continue
		}
		reqs := ami.Requirements
		if len(reqs) != 2 || reqs[1].Key != wellknown.InstanceGPUCountLabel || reqs[1].Operator != "Exists" {
			t.Errorf("nvidia AMI requirements %+v, want the architecture and %s Exists", reqs, wellknown.InstanceGPUCountLabel)
		}
		return
	}
	t.Fatalf("no x86_64 nvidia AMI in %+v", amis)
}
