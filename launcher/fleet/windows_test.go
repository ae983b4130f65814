package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	corev1 "k8s.io/api/core/v1"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/nodeclass"
)

// TestWindowsNodeHasThePlannedPodLimit: a Windows node admits the pods the
// catalog planned for it, the primary interface's addresses less one,
// because the launch writes that limit into its kubelet flags; the Windows
// AMI would otherwise leave kubelet at 110.
func TestWindowsNodeHasThePlannedPodLimit(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.class.Spec.AMISelectorTerms = []ec2v1.AMISelectorTerm{{Alias: "windows2022@latest"}}
	cfg := w.sim.SDKConfig()
	r := &nodeclass.Resolver{
		EC2: ec2.NewFromConfig(cfg), SSM: ssm.NewFromConfig(cfg), IAM: iam.NewFromConfig(cfg), ClusterName: testCluster, Region: cfg.Region,
		KubernetesVersion: func(context.Context) (string, error) { return "1.34", nil },
	}
	var err error
	if w.class.Status.AMIs, err = r.AMIs(ctx, w.class, time.Now()); err != nil {
		t.Fatal(err)
	}
	req := w.request(t, claimFor("windows", in(wellknown.InstanceTypeLabel, "m5.large"), in(wellknown.CapacityTypeLabel, wellknown.CapacityTypeOnDemand)))
	planned := req.InstanceTypes[0].Capacity.Pods().Value()
	if planned != 9 {
		t.Errorf("the catalog plans %d pods on a Windows m5.large, want 9: 10 addresses of the primary interface, less its own", planned)
	}
	got, ok := w.launchedCapacity(t, req)[corev1.ResourcePods]
	if !ok || got.Value() != planned {
		t.Errorf("the node admits %s pods, the plan has %d", got.String(), planned)
	}
}
