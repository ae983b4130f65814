package tailor_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/wait"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/tailor"
)

// TestShortNodes: a node that comes up advertising less than the pod
// bought for it requests (here half its CPU) can never take the pod. The
// pod is decided again without that instance type, each time, and after
// three such nodes nothing more is bought for it: no claim after claim for
// a node that will never do.
func TestShortNodes(t *testing.T) {
	e := newEnv(t, "01-nodepool-basic.yaml")
	e.nodeStatus = func(s *corev1.NodeStatus) {
		cpu := s.Allocatable[corev1.ResourceCPU]
		s.Allocatable[corev1.ResourceCPU] = *resource.NewMilliQuantity(cpu.MilliValue()/2, resource.DecimalSI)
	}
	pod := e.pods("needy", 1, "3")[0]
	var tried []string
	seen := map[string]bool{}
	for round := 1; round <= 3; round++ {
		nc := e.nextClaimOf(pod, seen)
		types := requirementValues(nc, wellknown.InstanceTypeLabel)
		for _, typ := range tried {
			if slices.Contains(types, typ) {
				t.Errorf("round %d: NodeClaim %s offers %s again, whose node came up short", round, nc.Name, typ)
			}
		}
		node := e.launch(nc)
		typ := node.Labels[wellknown.InstanceTypeLabel]
		tried = append(tried, typ)
		e.event(pod, tailor.ReasonNodeShort, "("+typ+") advertises cpu=")
	}
	e.event(pod, tailor.ReasonCannotProvision, "nothing more is bought for it")
	time.Sleep(2 * time.Second)
	if nc := e.claimOfPod(pod, seen); nc != nil {
		t.Errorf("NodeClaim %s was bought after three short nodes", nc.Name)
	}
}

// nextClaimOf waits for a claim recording the pod that is not among seen,
// and adds it.
func (e *env) nextClaimOf(p *corev1.Pod, seen map[string]bool) *karpv1.NodeClaim {
	e.t.Helper()
	var nc *karpv1.NodeClaim
	err := wait.PollUntilContextTimeout(e.ctx, 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		nc = e.claimOfPod(p, seen)
		return nc != nil, nil
	})
	if err != nil {
		e.t.Fatalf("no new NodeClaim for pod %s: %v; its events:\n%s", p.Name, err, e.events(p))
	}
	seen[nc.Name] = true
	return nc
}

// claimOfPod is a claim recording the pod that is not among seen, or nil.
func (e *env) claimOfPod(p *corev1.Pod, seen map[string]bool) *karpv1.NodeClaim {
	for _, nc := range e.claims() {
		if !seen[nc.Name] && strings.Contains(nc.Annotations["tailor.sh/reserved-for"], string(p.UID)) {
			return nc.DeepCopy()
		}
	}
	return nil
}
