package disruption

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/util/intstr"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// allowed is how many of a pool's nodes may be disrupted at now for a
// reason, by the most restrictive budget in force; an error names a budget
// that cannot be read, and then nothing is allowed.
func allowed(np *karpv1.NodePool, reason karpv1.DisruptionReason, nodes int, now time.Time) (int, error) {
	most := math.MaxInt
	for i, b := range np.Spec.Disruption.Budgets {
		if !appliesTo(b, reason) {
			continue
		}
		active, err := inForce(b, now)
		if err != nil {
			return 0, fmt.Errorf("NodePool %s budget %d: %w", np.Name, i, err)
		}
		if !active {
			continue
		}
		n, err := count(b.Nodes, nodes)
		if err != nil {
			return 0, fmt.Errorf("NodePool %s budget %d: %w", np.Name, i, err)
		}
		most = min(most, n)
	}
	if most == math.MaxInt {
		return nodes, nil
	}
	return most, nil
}

func appliesTo(b karpv1.Budget, reason karpv1.DisruptionReason) bool {
	if len(b.Reasons) == 0 {
		return true
	}
	for _, r := range b.Reasons {
		if r == reason {
			return true
		}
	}
	return false
}

// inForce: a budget without a schedule always is; one with a schedule is
// from each tick for its duration (UTC).
func inForce(b karpv1.Budget, now time.Time) (bool, error) {
	if b.Schedule == nil {
		return true, nil
	}
	if b.Duration == nil {
		return false, fmt.Errorf("schedule %q has no duration", *b.Schedule)
	}
	sched, err := cronParser.Parse(*b.Schedule)
	if err != nil {
		return false, fmt.Errorf("schedule %q: %w", *b.Schedule, err)
	}
	now = now.UTC()
	// In force when a tick fell in (now-duration, now]: the first tick after
	// now-duration is not in the future.
	tick := sched.Next(now.Add(-b.Duration.Duration))
	return !tick.After(now), nil
}

// count reads "5" or "10%" of nodes, a percentage rounded up as Karpenter
// does, so "10%" of 3 nodes still lets one go.
func count(spec string, nodes int) (int, error) {
	v := intstr.Parse(spec)
	if v.Type == intstr.String && !strings.HasSuffix(spec, "%") {
		return 0, fmt.Errorf("nodes %q: not a number or a percentage", spec)
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(&v, nodes, true)
	if err != nil {
		return 0, fmt.Errorf("nodes %q: %w", spec, err)
	}
	return n, nil
}
