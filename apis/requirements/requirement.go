package requirements

import (
	"math"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// Requirement is the set of outcomes one label key may have on a node: which
// values it may take, and whether the label may be missing altogether.
//
// Internally a requirement is either a finite set of admitted values, or the
// complement of a finite set of excluded values, optionally narrowed to the
// integers of an inclusive range (what Gt and Lt leave). Every constructor and
// Intersection normalise that form, so two requirements with the same meaning
// have the same String.
type Requirement struct {
	// Key is the label key the requirement constrains.
	Key string
	// MinValues, when set, is the least number of distinct values of Key the
	// instance types offered for a node must span. Intersection keeps the larger.
	MinValues *int

	// complement: values lists excluded values, every other string is admitted.
	complement bool
	// absent: a node without the label satisfies the requirement.
	absent bool
	// bounded: only integers in [lo, hi] are admitted (complement only). The
	// range is never empty: an empty range is normalised to "admits nothing".
	bounded bool
	lo, hi  int64
	// values is sorted, without duplicates, and never modified once set, so
	// requirements may share it.
	values []string
}

// NewRequirement parses one node selector expression.
//
// Gt and Lt take exactly one value, a base-10 64-bit integer (a leading sign
// is accepted, as strconv.ParseInt does). Any expression Kubernetes would
// refuse to parse — an unparsable integer, In or NotIn without values, Exists
// or DoesNotExist with values, an unknown operator — yields a requirement
// that admits nothing, not even a missing label, because the kube-scheduler
// would match no node against it either. Label syntax is not checked: the API
// server does that.
func NewRequirement(key string, op corev1.NodeSelectorOperator, values ...string) *Requirement {
	r := &Requirement{Key: key}
	switch op {
	case corev1.NodeSelectorOpIn:
		if len(values) > 0 {
			r.values = sortedUnique(values)
		}
	case corev1.NodeSelectorOpNotIn:
		if len(values) > 0 {
			r.complement, r.absent = true, true
			r.values = sortedUnique(values)
		}
	case corev1.NodeSelectorOpExists:
		r.complement = len(values) == 0
	case corev1.NodeSelectorOpDoesNotExist:
		r.absent = len(values) == 0
	case corev1.NodeSelectorOpGt:
		if n, ok := singleInteger(values); ok && n < math.MaxInt64 {
			r.complement, r.bounded = true, true
			r.lo, r.hi = n+1, math.MaxInt64
		}
	case corev1.NodeSelectorOpLt:
		if n, ok := singleInteger(values); ok && n > math.MinInt64 {
			r.complement, r.bounded = true, true
			r.lo, r.hi = math.MinInt64, n-1
		}
	}
	return r
}

// NewRequirementWithMinValues is NewRequirement with a MinValues; minValues
// is copied, so the caller may reuse the pointer.
func NewRequirementWithMinValues(key string, op corev1.NodeSelectorOperator, minValues *int, values ...string) *Requirement {
	r := NewRequirement(key, op, values...)
	r.MinValues = copyInt(minValues)
	return r
}

// unconstrained is the requirement on a key that nothing constrains: every
// value, and absence too. It is the identity of Intersection.
func unconstrained(key string) *Requirement {
	return &Requirement{Key: key, complement: true, absent: true}
}

func singleInteger(values []string) (int64, bool) {
	if len(values) != 1 {
		return 0, false
	}
	return parseInt64(values[0])
}

func sortedUnique(values []string) []string {
	out := slices.Clone(values)
	slices.Sort(out)
	return slices.Compact(out)
}

func copyInt(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// Has reports whether a node whose label Key has the given value satisfies r.
// For Gt and Lt the value must parse as an integer inside the bounds.
func (r *Requirement) Has(value string) bool {
	_, found := slices.BinarySearch(r.values, value)
	if !r.complement {
		return found
	}
	if found {
		return false
	}
	return !r.bounded || r.inBounds(value)
}

func (r *Requirement) inBounds(value string) bool {
	n, ok := parseInt64(value)
	return ok && n >= r.lo && n <= r.hi
}

// AllowsAbsent reports whether a node without the label Key satisfies r: true
// for NotIn and DoesNotExist (and for what Requirements.Get returns for a key
// it does not hold), false once In, Exists, Gt or Lt is part of r.
func (r *Requirement) AllowsAbsent() bool {
	return r.absent
}

// Empty reports whether no node satisfies r: it admits no value and needs the
// label to be present. DoesNotExist is not empty, a node without the label
// satisfies it.
func (r *Requirement) Empty() bool {
	return !r.absent && !r.complement && len(r.values) == 0
}

// Operator names the shape of the admitted values, in canonical form:
//
//   - In: a finite set of values (Values). In with no values admits nothing
//     (see Empty).
//   - NotIn: every value but Values (within Bounds, if any).
//   - Exists: every value (within Bounds, if any).
//   - DoesNotExist: no value, only a missing label.
//
// Gt and Lt never come back: their bounds are a refinement of Exists (or of
// NotIn when values are also excluded), and once intersected with In they
// leave In with the values that fall inside. Use Bounds to read them.
//
// The operator alone does not say whether a missing label is acceptable —
// "Exists and NotIn [a]" reports NotIn but needs the label — so ask
// AllowsAbsent. Likewise the unconstrained requirement Requirements.Get
// returns for an unknown key reports Exists but also allows absence.
func (r *Requirement) Operator() corev1.NodeSelectorOperator {
	switch {
	case r.complement && len(r.values) > 0:
		return corev1.NodeSelectorOpNotIn
	case r.complement:
		return corev1.NodeSelectorOpExists
	case len(r.values) == 0 && r.absent:
		return corev1.NodeSelectorOpDoesNotExist
	default:
		return corev1.NodeSelectorOpIn
	}
}

// Bounds returns the exclusive integer bounds left by Gt and Lt: r admits only
// integers v with gt < v < lt where the corresponding ok is true.
func (r *Requirement) Bounds() (gt int64, hasGt bool, lt int64, hasLt bool) {
	if !r.bounded {
		return 0, false, 0, false
	}
	if r.lo > math.MinInt64 {
		gt, hasGt = r.lo-1, true
	}
	if r.hi < math.MaxInt64 {
		lt, hasLt = r.hi+1, true
	}
	return gt, hasGt, lt, hasLt
}

// Values returns the admitted values for In, the excluded ones for NotIn, and
// nothing otherwise; sorted, in a slice the caller owns.
func (r *Requirement) Values() []string {
	return slices.Clone(r.values)
}

// Len is the number of admitted values: math.MaxInt when they are the
// complement of a finite set (NotIn, Exists, Gt, Lt), 0 for DoesNotExist and
// for a requirement that admits nothing.
func (r *Requirement) Len() int {
	if r.complement {
		return math.MaxInt
	}
	return len(r.values)
}

// Any returns an admitted value, the same one every time for the same
// requirement, or "" when none is admitted. The smallest value of an In set;
// for Gt and Lt the integer nearest the bound that is not excluded; for
// Exists and NotIn the smallest non-negative integer that is not excluded.
// A requirement admitting the empty value (In [""]) also returns "": ask Len
// or Has to tell the two apart.
func (r *Requirement) Any() string {
	if !r.complement {
		if len(r.values) == 0 {
			return ""
		}
		return r.values[0]
	}
	if !r.bounded {
		// Each excluded value rules out at most one candidate, so this ends
		// within len(r.values)+1 rounds.
		for i := 0; ; i++ {
			if v := strconv.Itoa(i); r.Has(v) {
				return v
			}
		}
	}
	start, step := r.lo, int64(1)
	if r.lo == math.MinInt64 {
		start, step = r.hi, -1
	}
	for i := int64(0); i <= int64(len(r.values)); i++ {
		n := start + i*step
		if n < r.lo || n > r.hi {
			break
		}
		if v := strconv.FormatInt(n, 10); r.Has(v) {
			return v
		}
	}
	// Every canonical spelling in reach is excluded, but the bound itself has
	// infinitely many spellings with leading zeros, and the excluded values
	// are finitely many.
	digits := strconv.FormatInt(start, 10)
	sign := ""
	if digits[0] == '-' {
		sign, digits = "-", digits[1:]
	}
	for zeros := "0"; ; zeros += "0" {
		if v := sign + zeros + digits; r.Has(v) {
			return v
		}
	}
}
