package catalog

import (
	"fmt"
	"math/big"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
)

// kubelet's hard eviction defaults, which apply to the signals a class does
// not set.
var defaultEvictionHard = map[string]ec2v1.Threshold{
	evictionMemory: "100Mi",
	evictionNodefs: "10%",
}

const (
	evictionMemory = "memory.available"
	evictionNodefs = "nodefs.available"
)

// threshold is an eviction threshold: the larger of an absolute quantity and
// a percentage of the resource's capacity. Folding the hard and the soft
// threshold of a signal into one keeps the larger of each kind, so that the
// threshold of a given capacity is the larger of the two, which is what
// kubelet effectively holds back.
type threshold struct {
	quantity resource.Quantity
	// percent is exact, so that 10% of 20Gi is 2Gi to the byte.
	percent *big.Rat
}

// of returns the threshold for a resource of the given capacity, a
// percentage rounded up to a whole byte.
func (t threshold) of(capacity resource.Quantity) resource.Quantity {
	if t.percent == nil {
		return t.quantity.DeepCopy()
	}
	share := new(big.Rat).Mul(t.percent, new(big.Rat).SetInt64(capacity.Value()))
	share.Quo(share, big.NewRat(100, 1))
	fromPercent := ceilRat(share)
	if t.quantity.Value() >= fromPercent {
		return t.quantity.DeepCopy()
	}
	return *resource.NewQuantity(fromPercent, capacity.Format)
}

// fold raises t to cover one more threshold value, "100Mi" or "10%".
func (t *threshold) fold(signal string, value ec2v1.Threshold) error {
	if p, ok := strings.CutSuffix(string(value), "%"); ok {
		f, ok := new(big.Rat).SetString(p)
		if !ok || f.Sign() < 0 || f.Cmp(big.NewRat(100, 1)) > 0 {
			return fmt.Errorf("eviction threshold %s: %q is not a percentage", signal, value)
		}
		if t.percent == nil || f.Cmp(t.percent) > 0 {
			t.percent = f
		}
		return nil
	}
	q, err := resource.ParseQuantity(string(value))
	if err != nil {
		return fmt.Errorf("eviction threshold %s: %w", signal, err)
	}
	if q.Sign() < 0 {
		return fmt.Errorf("eviction threshold %s: %s is negative", signal, value)
	}
	if q.Cmp(t.quantity) > 0 {
		t.quantity = q
	}
	return nil
}

// ceilRat rounds a non-negative rational up to an integer.
func ceilRat(r *big.Rat) int64 {
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64()
}

// largerThreshold folds the hard and the soft threshold of a signal.
func largerThreshold(signal string, hard, soft map[string]ec2v1.Threshold) (threshold, error) {
	var t threshold
	for _, m := range []map[string]ec2v1.Threshold{hard, soft} {
		if v, ok := m[signal]; ok {
			if err := t.fold(signal, v); err != nil {
				return threshold{}, err
			}
		}
	}
	return t, nil
}
