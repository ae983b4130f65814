package drift

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/hash"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// TestDrift: each change of a claim's pool or class that Karpenter counts
// as drift marks the claim Drifted with its reason and an event; changes
// that are not drift leave it alone.
func TestDrift(t *testing.T) {
	tests := []struct {
		name   string
		change func(w *world)
		// reason is the Drifted reason wanted, "" for no condition.
		reason string
		// says is a piece of the condition's message.
		says string
	}{
		{name: "nothing changed"},
		{name: "a label added to the template", reason: karpv1.DriftReasonNodePoolDrifted, says: "template changed", change: func(w *world) {
			update(w, w.pool, func(np *karpv1.NodePool) { np.Spec.Template.ObjectMeta.Labels["tier"] = "web" })
			w.reconcileHash(&NodePoolHash{Client: kube}, w.pool.Name)
		}},
		{name: "a taint added to the template", reason: karpv1.DriftReasonNodePoolDrifted, change: func(w *world) {
			update(w, w.pool, func(np *karpv1.NodePool) {
				np.Spec.Template.Spec.Taints = []corev1.Taint{{Key: "dedicated", Effect: corev1.TaintEffectNoSchedule}}
			})
			w.reconcileHash(&NodePoolHash{Client: kube}, w.pool.Name)
		}},
		{name: "a template changed under another hash version", change: func(w *world) {
			update(w, w.pool, func(np *karpv1.NodePool) { np.Spec.Template.ObjectMeta.Labels["tier"] = "web" })
			w.reconcileHash(&NodePoolHash{Client: kube}, w.pool.Name)
			update(w, w.claim, func(nc *karpv1.NodeClaim) { nc.Annotations[wellknown.NodePoolHashVersionAnnotation] = "v0" })
		}},
		{name: "the claim's zone removed from the requirements", reason: karpv1.DriftReasonRequirementsDrifted, says: wellknown.ZoneLabel, change: func(w *world) {
			update(w, w.pool, func(np *karpv1.NodePool) { np.Spec.Template.Spec.Requirements[0].Values = []string{"us-east-1b"} })
		}},
		{name: "another zone removed from the requirements", change: func(w *world) {
			update(w, w.pool, func(np *karpv1.NodePool) { np.Spec.Template.Spec.Requirements[0].Values = []string{"us-east-1a"} })
		}},
		{name: "a custom label required that the node lacks", reason: karpv1.DriftReasonRequirementsDrifted, says: "gpu", change: func(w *world) {
			update(w, w.pool, func(np *karpv1.NodePool) {
				np.Spec.Template.Spec.Requirements = append(np.Spec.Template.Spec.Requirements,
					karpv1.NodeSelectorRequirementWithMinValues{Key: "example.com/gpu", Operator: corev1.NodeSelectorOpExists})
			})
		}},
		{name: "the class's user data", reason: ec2v1.DriftReasonNodeClassDrift, says: "EC2NodeClass", change: func(w *world) {
			update(w, w.class, func(nc *ec2v1.EC2NodeClass) { nc.Spec.UserData = ptr.To("#!/bin/bash\necho bye\n") })
			w.reconcileHash(&NodeClassHash{Client: kube}, w.class.Name)
		}},
		{name: "the class's subnet selector alone", change: func(w *world) {
			update(w, w.class, func(nc *ec2v1.EC2NodeClass) {
				nc.Spec.SubnetSelectorTerms = []ec2v1.SubnetSelectorTerm{{Tags: map[string]string{"network-type": "private"}}}
			})
			w.reconcileHash(&NodeClassHash{Client: kube}, w.class.Name)
			// Resolved again, to the same subnets.
			w.updateClassStatus(func(s *ec2v1.EC2NodeClassStatus) { s.Conditions[0].ObservedGeneration = w.class.Generation })
		}},
		{name: "a new AMI for the instance's architecture", reason: ec2v1.DriftReasonAMIDrift, says: "ami-0new", change: func(w *world) {
			w.updateClassStatus(func(s *ec2v1.EC2NodeClassStatus) { s.AMIs[0].ID = "ami-0new" })
		}},
		{name: "a new AMI for another architecture", change: func(w *world) {
			w.updateClassStatus(func(s *ec2v1.EC2NodeClassStatus) { s.AMIs[1].ID = "ami-0new" })
		}},
		{name: "a security group added to the selection", reason: ec2v1.DriftReasonSecurityGroupDrift, says: w0SG, change: func(w *world) {
			w.updateClassStatus(func(s *ec2v1.EC2NodeClassStatus) {
				s.SecurityGroups = append(s.SecurityGroups, ec2v1.SecurityGroup{ID: w.otherSG})
			})
		}},
		{name: "the instance's subnet no longer selected", reason: ec2v1.DriftReasonSubnetDrift, says: "subnet", change: func(w *world) {
			w.updateClassStatus(func(s *ec2v1.EC2NodeClassStatus) { s.Subnets = s.Subnets[1:] })
		}},
		{name: "the pool and the class both changed: the pool's reason first", reason: karpv1.DriftReasonNodePoolDrifted, change: func(w *world) {
			update(w, w.pool, func(np *karpv1.NodePool) { np.Spec.Template.ObjectMeta.Labels["tier"] = "web" })
			w.reconcileHash(&NodePoolHash{Client: kube}, w.pool.Name)
			w.updateClassStatus(func(s *ec2v1.EC2NodeClassStatus) { s.AMIs[0].ID = "ami-0new" })
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, "drift-"+string(rune('a'+i)))
			if tc.change != nil {
				tc.change(w)
			}
			cond, res := w.judge()
			events := w.events()
			if tc.reason == "" {
				if cond != nil {
					t.Fatalf("Drifted %s %s: %s", cond.Status, cond.Reason, cond.Message)
				}
				if len(events) > 0 {
					t.Errorf("events %v on a claim that did not drift", events)
				}
				if res.RequeueAfter != DefaultRecheckInterval {
					t.Errorf("judged again after %s, want %s", res.RequeueAfter, DefaultRecheckInterval)
				}
				return
			}
			if cond == nil || cond.Status != metav1.ConditionTrue || cond.Reason != tc.reason {
				t.Fatalf("Drifted = %+v, want True %s", cond, tc.reason)
			}
			says := tc.says
			if says == w0SG {
				says = w.otherSG
			}
			if !strings.Contains(cond.Message, says) {
				t.Errorf("message %q does not say %q", cond.Message, says)
			}
			if len(events) != 1 || !strings.Contains(events[0], ReasonDrifted) || !strings.Contains(events[0], tc.reason) {
				t.Errorf("events %v, want one %s event with reason %s", events, ReasonDrifted, tc.reason)
			}
			// Judged again, nothing changes and nothing is said twice.
			again, _ := w.judge()
			if again == nil || again.Reason != tc.reason || !again.LastTransitionTime.Equal(&cond.LastTransitionTime) {
				t.Errorf("judged again: %+v, was %+v", again, cond)
			}
			if events := w.events(); len(events) > 0 {
				t.Errorf("judged again, events %v", events)
			}
		})
	}
}

// w0SG stands for the world's other security group, which a test case
// cannot name before its world exists.
const w0SG = "<other security group>"

// TestDriftResolved: a claim that is no longer drifted loses the
// condition, with an event; one that is not launched never has it; and
// one whose class cannot be judged keeps what it had.
func TestDriftResolved(t *testing.T) {
	t.Run("the change reverted", func(t *testing.T) {
		w := newWorld(t, "resolved-revert")
		w.updateClassStatus(func(s *ec2v1.EC2NodeClassStatus) { s.AMIs[0].ID = "ami-0new" })
		if cond, _ := w.judge(); cond == nil || cond.Reason != ec2v1.DriftReasonAMIDrift {
			t.Fatalf("Drifted = %+v, want AMIDrift", cond)
		}
		w.events()
		w.updateClassStatus(func(s *ec2v1.EC2NodeClassStatus) { s.AMIs[0].ID = w.amd64 })
		if cond, _ := w.judge(); cond != nil {
			t.Fatalf("Drifted = %+v after the change was reverted", cond)
		}
		if events := w.events(); len(events) != 1 || !strings.Contains(events[0], ReasonDriftResolved) {
			t.Errorf("events %v, want one %s", events, ReasonDriftResolved)
		}
	})
	t.Run("another reason", func(t *testing.T) {
		w := newWorld(t, "resolved-reason")
		update(w, w.pool, func(np *karpv1.NodePool) { np.Spec.Template.Spec.Requirements[0].Values = []string{"us-east-1b"} })
		if cond, _ := w.judge(); cond == nil || cond.Reason != karpv1.DriftReasonRequirementsDrifted {
			t.Fatalf("Drifted = %+v, want %s", cond, karpv1.DriftReasonRequirementsDrifted)
		}
		w.events()
		update(w, w.pool, func(np *karpv1.NodePool) { np.Spec.Template.ObjectMeta.Labels["tier"] = "web" })
		w.reconcileHash(&NodePoolHash{Client: kube}, w.pool.Name)
		if cond, _ := w.judge(); cond == nil || cond.Reason != karpv1.DriftReasonNodePoolDrifted {
			t.Fatalf("Drifted = %+v, want %s", cond, karpv1.DriftReasonNodePoolDrifted)
		}
		if events := w.events(); len(events) != 1 || !strings.Contains(events[0], karpv1.DriftReasonNodePoolDrifted) {
			t.Errorf("events %v, want one that says %s", events, karpv1.DriftReasonNodePoolDrifted)
		}
	})
	t.Run("the class not ready keeps the condition", func(t *testing.T) {
		w := newWorld(t, "resolved-notready")
		w.updateClassStatus(func(s *ec2v1.EC2NodeClassStatus) { s.AMIs[0].ID = "ami-0new" })
		if cond, _ := w.judge(); cond == nil {
			t.Fatal("not drifted")
		}
		w.updateClassStatus(func(s *ec2v1.EC2NodeClassStatus) {
			s.AMIs[0].ID = w.amd64
			s.Conditions[0].Status, s.Conditions[0].Reason = metav1.ConditionFalse, "NotReady"
		})
		if cond, _ := w.judge(); cond == nil || cond.Reason != ec2v1.DriftReasonAMIDrift {
			t.Errorf("Drifted = %+v while the class cannot be judged, want AMIDrift kept", cond)
		}
	})
	t.Run("not launched", func(t *testing.T) {
		w := newWorld(t, "resolved-unlaunched")
		w.claim.Status.Conditions = []metav1.Condition{
			{Type: karpv1.ConditionTypeLaunched, Status: metav1.ConditionFalse, Reason: "LaunchFailed", LastTransitionTime: metav1.Now()},
			{Type: karpv1.ConditionTypeDrifted, Status: metav1.ConditionTrue, Reason: karpv1.DriftReasonNodePoolDrifted, LastTransitionTime: metav1.Now()},
		}
		if err := kube.Status().Update(w.ctx, w.claim); err != nil {
			t.Fatal(err)
		}
		if cond, _ := w.judge(); cond != nil {
			t.Errorf("Drifted = %+v on a claim not launched", cond)
		}
	})
}

// TestHashVersionChange: when a pool's or class's hash version is not
// Tailor's, its claims of the old version get the current hash, except
// those already drifted, which keep their hash and so stay drifted.
func TestHashVersionChange(t *testing.T) {
	w := newWorld(t, "rehash")
	drifted := w.launchClaim("rehash-drifted", "us-east-1b", w.amd64, w.clusterSG)
	drifted.Status.Conditions = append(drifted.Status.Conditions, metav1.Condition{
		Type: karpv1.ConditionTypeDrifted, Status: metav1.ConditionTrue, Reason: karpv1.DriftReasonNodePoolDrifted, LastTransitionTime: metav1.Now(),
	})
	if err := kube.Status().Update(w.ctx, drifted); err != nil {
		t.Fatal(err)
	}
	for _, claim := range []*karpv1.NodeClaim{w.claim, drifted} {
		update(w, claim, func(nc *karpv1.NodeClaim) {
			nc.Annotations[wellknown.NodePoolHashAnnotation] = "old"
			nc.Annotations[wellknown.NodePoolHashVersionAnnotation] = "v0"
			nc.Annotations[wellknown.NodeClassHashAnnotation] = "old"
			nc.Annotations[ec2v1.AnnotationEC2NodeClassHashVersion] = "v0"
		})
	}
	update(w, w.pool, func(np *karpv1.NodePool) { np.Annotations[wellknown.NodePoolHashVersionAnnotation] = "v0" })
	update(w, w.class, func(nc *ec2v1.EC2NodeClass) { nc.Annotations[ec2v1.AnnotationEC2NodeClassHashVersion] = "v0" })
	w.reconcileHash(&NodePoolHash{Client: kube}, w.pool.Name)
	w.reconcileHash(&NodeClassHash{Client: kube}, w.class.Name)

	update(w, w.pool, func(*karpv1.NodePool) {})
	update(w, w.class, func(*ec2v1.EC2NodeClass) {})
	if got := w.pool.Annotations; got[wellknown.NodePoolHashVersionAnnotation] != hash.NodePoolVersion || got[wellknown.NodePoolHashAnnotation] != hash.NodePool(w.pool) {
		t.Errorf("pool annotations %v", got)
	}
	for _, tc := range []struct {
		claim     *karpv1.NodeClaim
		wantStale bool
	}{{w.claim, false}, {drifted, true}} {
		update(w, tc.claim, func(*karpv1.NodeClaim) {})
		a := tc.claim.Annotations
		if a[wellknown.NodePoolHashVersionAnnotation] != hash.NodePoolVersion || a[ec2v1.AnnotationEC2NodeClassHashVersion] != hash.EC2NodeClassVersion {
			t.Errorf("claim %s has hash versions %s and %s", tc.claim.Name, a[wellknown.NodePoolHashVersionAnnotation], a[ec2v1.AnnotationEC2NodeClassHashVersion])
		}
		stale := a[wellknown.NodePoolHashAnnotation] == "old" && a[wellknown.NodeClassHashAnnotation] == "old"
		fresh := a[wellknown.NodePoolHashAnnotation] == hash.NodePool(w.pool) && a[wellknown.NodeClassHashAnnotation] == hash.EC2NodeClass(w.class)
		if tc.wantStale && !stale || !tc.wantStale && !fresh {
			t.Errorf("claim %s has hashes %s and %s; want them kept: %v", tc.claim.Name, a[wellknown.NodePoolHashAnnotation], a[wellknown.NodeClassHashAnnotation], tc.wantStale)
		}
	}
	if cond, _ := w.judge(); cond != nil {
		t.Errorf("the re-stamped claim drifted: %+v", cond)
	}
}
