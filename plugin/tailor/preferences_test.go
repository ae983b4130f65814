package tailor_test

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/tailor"
)

func preferZone(weight int32, key string, values ...string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		if p.Spec.Affinity == nil {
			p.Spec.Affinity = &corev1.Affinity{}
		}
		if p.Spec.Affinity.NodeAffinity == nil {
			p.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
		}
		na := p.Spec.Affinity.NodeAffinity
		na.PreferredDuringSchedulingIgnoredDuringExecution = append(na.PreferredDuringSchedulingIgnoredDuringExecution, corev1.PreferredSchedulingTerm{
			Weight: weight, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: corev1.NodeSelectorOpIn, Values: values}}}})
	}
}

func preferApart(app string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 100, PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: wellknown.HostnameLabel, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}},
		}}}}
	}
}

func spreadAnyway(app string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: wellknown.ZoneLabel, WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}}}
	}
}

// claimOf is the claim that records a pod.
func claimOf(claims []karpv1.NodeClaim, p *corev1.Pod) *karpv1.NodeClaim {
	for i := range claims {
		if strings.Contains(claims[i].Annotations["tailor.sh/reserved-for"], string(p.UID)) {
			return &claims[i]
		}
	}
	return nil
}

// TestPreferences: under the default policy, Respect, capacity is bought
// for what pods prefer: a preferred zone, preferred anti-affinity by
// hostname, a ScheduleAnyway spread over zones; a preference no pool can
// meet is given up, and the pod told so. Under Ignore, the same pods get
// what they require only.
func TestPreferences(t *testing.T) {
	for _, policy := range []string{"Respect", "Ignore"} {
		t.Run(policy, func(t *testing.T) {
			config := strings.Replace(schedulerConfig, "      catalog:", "      preferencePolicy: "+policy+"\n      catalog:", 1)
			e := newEnvWith(t, config, "01-nodepool-basic.yaml")
			respect := policy == "Respect"

			zoned := e.pods("zoned", 1, "1", preferZone(50, wellknown.ZoneLabel, "us-east-1b"))
			zones := requirementValues(claimOf(e.claimsFor(zoned), zoned[0]), wellknown.ZoneLabel)
			if want := respect; slices.Equal(zones, []string{"us-east-1b"}) != want {
				t.Errorf("a pod preferring us-east-1b got a NodeClaim in %v (policy %s)", zones, policy)
			}

			apart := e.pods("apart", 3, "500m", preferApart("apart"))
			claims := sets.New[string]()
			for _, p := range apart {
				claims.Insert(claimOf(e.claimsFor(apart), p).Name)
			}
			// Ignored, the preference lets them share room: on a new claim,
			// or on what the zoned pod's claim has left.
			if (claims.Len() == 3) != respect {
				t.Errorf("3 pods preferring separate nodes got %d NodeClaims (policy %s)", claims.Len(), policy)
			}

			spread := e.pods("spread", 3, "500m", spreadAnyway("spread"))
			inZones := sets.New[string]()
			for _, p := range spread {
				inZones.Insert(strings.Join(requirementValues(claimOf(e.claimsFor(spread), p), wellknown.ZoneLabel), ","))
			}
			if respect && !inZones.Equal(sets.New("us-east-1a", "us-east-1b", "us-east-1c")) {
				t.Errorf("3 pods preferring to spread over zones got NodeClaims in %v", sets.List(inZones))
			}

			if !respect {
				return
			}
			// No pool offers this family: the preference is given up.
			odd := e.pods("odd", 1, "1", preferZone(10, "karpenter.k8s.aws/instance-family", "no-such-family"))
			if claimOf(e.claimsFor(odd), odd[0]) == nil {
				t.Fatal("no NodeClaim for a pod whose preference no pool meets")
			}
			e.event(odd[0], tailor.ReasonPreferenceRelaxed, "preferred node affinity (weight 10)")
		})
	}
}
