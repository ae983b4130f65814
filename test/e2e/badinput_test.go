package e2e

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/tailor"
)

// TestBadInput: what a user can get wrong — a NodePool naming an
// EC2NodeClass that does not exist, a class whose subnet selector matches
// nothing, a pod larger than any instance type its pool allows — is
// answered with the cause: a CannotProvision event on the pod, and the
// NodePool's and the class's conditions. Nothing is bought for it (no
// NodeClaim, no instance) and nothing stops: a good pod created afterwards
// still gets its node. The cases share one cluster; each has its own
// NodePool and pods that select only it. Real processes would add nothing
// here, so the scheduler and the launcher run in this process.
func TestBadInput(t *testing.T) {
	e := start(t, options{})

	noSubnets := &ec2v1.EC2NodeClass{}
	if err := yaml.UnmarshalStrict(e.readExample(seedClass), noSubnets); err != nil {
		t.Fatal(err)
	}
	noSubnets.Name = "no-subnets"
	noSubnets.Spec.SubnetSelectorTerms = []ec2v1.SubnetSelectorTerm{{Tags: map[string]string{"karpenter.sh/discovery": "no-such-cluster"}}}
	e.create(noSubnets)

	ghost := scenarioPool("ghost-class", "ghost-class", onDemand...)
	ghost.Spec.Template.Spec.NodeClassRef.Name = "ghost"
	unroutable := scenarioPool("no-subnets", "no-subnets", onDemand...)
	unroutable.Spec.Template.Spec.NodeClassRef.Name = noSubnets.Name
	// Nodes of at most 8 CPUs: no instance it may launch holds 500.
	small := scenarioPool("small", "small", append(onDemand,
		req(wellknown.InstanceSizeLabel, corev1.NodeSelectorOpIn, "large", "xlarge", "2xlarge"))...)
	e.create(ghost, unroutable, small)

	e.eventually("EC2NodeClass no-subnets says no subnet matches", func() (bool, error) {
		nc := &ec2v1.EC2NodeClass{}
		if err := e.client.Get(e.ctx, client.ObjectKeyFromObject(noSubnets), nc); err != nil {
			return false, err
		}
		c := meta.FindStatusCondition(nc.Status.Conditions, ec2v1.ConditionTypeSubnetsReady)
		if c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "karpenter.sh/discovery=no-such-cluster") {
			return false, fmt.Errorf("condition %s is %+v", ec2v1.ConditionTypeSubnetsReady, c)
		}
		return true, nil
	})

	for pool, says := range map[string]string{ghost.Name: "EC2NodeClass ghost does not exist", unroutable.Name: "EC2NodeClass no-subnets is not ready"} {
		e.eventually("NodePool "+pool+" says its EC2NodeClass is not ready", func() (bool, error) {
			np := &karpv1.NodePool{}
			if err := e.client.Get(e.ctx, client.ObjectKey{Name: pool}, np); err != nil {
				return false, err
			}
			c := meta.FindStatusCondition(np.Status.Conditions, karpv1.ConditionTypeNodeClassReady)
			if c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, says) {
				return false, fmt.Errorf("condition %s is %+v", karpv1.ConditionTypeNodeClassReady, c)
			}
			return true, nil
		})
	}

	cases := []struct {
		name, scenario, cpu string
		// told are what the pod's CannotProvision event must say.
		told []string
	}{
		{"ghost", ghost.Name, "1", []string{"NodePool ghost-class", "EC2NodeClass ghost"}},
		{"unroutable", unroutable.Name, "1", []string{"NodePool no-subnets", "EC2NodeClass no-subnets"}},
		{"huge", small.Name, "500", []string{"NodePool small", "cpu=500"}},
	}
	for _, c := range cases {
		e.create(scenarioWorkload(c.name, c.scenario, 1, c.cpu, nil))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.forT(t)
			e.eventually("pod of "+c.name+" is told why nothing is launched for it", func() (bool, error) {
				pods, err := e.pods(c.name)
				if err != nil || len(pods) != 1 {
					return false, fmt.Errorf("%d pods (%v)", len(pods), err)
				}
				events, err := e.eventsAbout("Pod", pods[0].Name)
				if err != nil {
					return false, err
				}
				var said []string
				for _, ev := range events {
					if ev.Reason != tailor.ReasonCannotProvision {
						continue
					}
					said = append(said, ev.Message)
					if containsAll(ev.Message, c.told) {
						return true, nil
					}
				}
				return false, fmt.Errorf("no %s event says all of %q; said: %q", tailor.ReasonCannotProvision, c.told, said)
			})
			for _, nc := range e.mustClaims() {
				if nc.Labels[wellknown.NodePoolLabel] == c.scenario {
					t.Errorf("NodeClaim %s was created for NodePool %s, which cannot launch it\n%s", nc.Name, c.scenario, e.dump())
				}
			}
		})
	}

	// Nothing bad input asks for is bought; a good pod still is, so
	// neither the scheduler nor the launcher is stuck or gone.
	good := scenarioWorkload("good", small.Name, 1, "1", nil)
	e.create(good)
	e.running(good.Name, 1)
	if insts := e.cluster.Simulator.Instances(); len(insts) != 1 {
		t.Errorf("%d instances, want only the good pod's\n%s", len(insts), e.dump())
	}
	for _, c := range cases {
		pods, err := e.pods(c.name)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods {
			if p.Spec.NodeName != "" {
				t.Errorf("pod %s of %s is bound to %s", p.Name, c.name, p.Spec.NodeName)
			}
		}
	}
	select {
	case <-e.procs.launcher.done:
		t.Errorf("the launcher stopped: %v", e.procs.launcher.err)
	default:
	}
}

// containsAll reports whether s contains every one of parts.
func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
