package requirements

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"
)

// splitValues turns one fuzzed string into a value list: "" is no values,
// otherwise the comma-separated parts (which may be empty strings).
func splitValues(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

var fuzzOperators = []corev1.NodeSelectorOperator{in, notIn, exists, dne, gt, lt, "Bogus"}

// kubernetesSelector builds the labels.Selector the kube-scheduler would use
// for one expression, or reports that it would refuse the expression.
func kubernetesSelector(key string, op corev1.NodeSelectorOperator, values []string) (labels.Selector, bool) {
	ops := map[corev1.NodeSelectorOperator]selection.Operator{
		in: selection.In, notIn: selection.NotIn, exists: selection.Exists,
		dne: selection.DoesNotExist, gt: selection.GreaterThan, lt: selection.LessThan,
	}
	sop, ok := ops[op]
	if !ok {
		return nil, false
	}
	req, err := labels.NewRequirement(key, sop, values)
	if err != nil {
		return nil, false
	}
	return labels.NewSelector().Add(*req), true
}

func validLabelValues(values []string) bool {
	for _, v := range values {
		if len(validation.IsValidLabelValue(v)) > 0 {
			return false
		}
	}
	return true
}

// checkCanonical asserts what every requirement must satisfy on its own.
func checkCanonical(t *testing.T, r *Requirement) {
	t.Helper()
	s := r.String()
	if again := r.String(); again != s {
		t.Fatalf("String() not stable: %q then %q", s, again)
	}
	back := FromNodeSelectorRequirementsWithMinValues(NewRequirements(r).NodeSelectorRequirements()...).Get(r.Key)
	if got := back.String(); got != s {
		t.Fatalf("round trip through NodeSelectorRequirements: %q became %q", s, got)
	}
	values := r.Values()
	if !slices.IsSorted(values) || len(slices.Compact(slices.Clone(values))) != len(values) {
		t.Fatalf("%s: Values() %q not sorted and unique", s, values)
	}
	if any := r.Any(); any != "" && !r.Has(any) {
		t.Fatalf("%s: Any() = %q, which it does not admit", s, any)
	} else if any == "" && r.Len() > 0 && !r.Has("") {
		t.Fatalf(`%s: Any() = "" with Len() = %d, but "" is not admitted`, s, r.Len())
	}
	if r.Empty() != (r.Len() == 0 && !r.AllowsAbsent()) {
		t.Fatalf("%s: Empty() = %v, Len() = %d, AllowsAbsent() = %v", s, r.Empty(), r.Len(), r.AllowsAbsent())
	}
}

// FuzzNewRequirement feeds arbitrary operators and values to NewRequirement:
// it must not panic, must spell the result stably, and must judge values as
// the Kubernetes label selector does.
func FuzzNewRequirement(f *testing.F) {
	f.Add("k", "In", "a,b", "a")
	f.Add("k", "In", "", "")
	f.Add("k", "NotIn", "a", "b")
	f.Add("k", "NotIn", "", "b")
	f.Add("k", "Exists", "", "x")
	f.Add("k", "Exists", "a", "a")
	f.Add("k", "DoesNotExist", "", "x")
	f.Add("k", "Gt", "5", "6")
	f.Add("k", "Gt", "5", "06")
	f.Add("k", "Gt", "+5", "5")
	f.Add("k", "Gt", "9223372036854775807", "9223372036854775807")
	f.Add("k", "Lt", "-9223372036854775808", "0")
	f.Add("k", "Lt", "8", "seven")
	f.Add("k", "Lt", "1,2", "0")
	f.Add("", "Gt", "five", "5")
	f.Add("k", "gt", "5", "6")
	f.Add("k", "In", ",a, b", "")
	f.Fuzz(func(t *testing.T, key, op, rawValues, probe string) {
		values := splitValues(rawValues)
		r := NewRequirement(key, corev1.NodeSelectorOperator(op), values...)
		if r.Key != key {
			t.Fatalf("Key = %q, want %q", r.Key, key)
		}
		checkCanonical(t, r)

		sel, ok := kubernetesSelector("example.com/k", corev1.NodeSelectorOperator(op), values)
		if !ok {
			// Kubernetes refuses the expression. When the values are
			// well-formed labels the refusal is about the operator or the
			// arity, and the requirement must then admit nothing.
			if validLabelValues(values) && !r.Empty() {
				t.Fatalf("Kubernetes refuses %s %q, but %s admits something", op, values, r)
			}
			return
		}
		if got, want := r.AllowsAbsent(), sel.Matches(labels.Set{}); got != want {
			t.Fatalf("%s: AllowsAbsent() = %v, Kubernetes says %v", r, got, want)
		}
		for _, v := range append([]string{probe, r.Any()}, values...) {
			if got, want := r.Has(v), sel.Matches(labels.Set{"example.com/k": v}); got != want {
				t.Fatalf("%s: Has(%q) = %v, Kubernetes says %v", r, v, got, want)
			}
		}
	})
}

// FuzzIntersectionLaws checks that Intersection means "both": for any
// requirements A, B, C and value v, (A∩B).Has(v) == A.Has(v) && B.Has(v),
// the same for a missing label, and that the result does not depend on order
// or grouping.
func FuzzIntersectionLaws(f *testing.F) {
	f.Add(uint8(0), "4,6", uint8(1), "6,7", uint8(2), "", "6", uint8(0), uint8(0))
	f.Add(uint8(4), "5", uint8(5), "8", uint8(1), "6", "06", uint8(2), uint8(3))
	f.Add(uint8(4), "5", uint8(5), "6", uint8(3), "", "5", uint8(0), uint8(1))
	f.Add(uint8(1), "a", uint8(3), "", uint8(2), "", "a", uint8(0), uint8(0))
	f.Add(uint8(2), "", uint8(3), "", uint8(1), "x", "", uint8(1), uint8(0))
	f.Add(uint8(4), "-3", uint8(0), "-2,2,x", uint8(5), "10", "+2", uint8(0), uint8(0))
	f.Add(uint8(6), "a", uint8(0), "a", uint8(1), "b", "a", uint8(0), uint8(0))
	f.Add(uint8(4), "5", uint8(5), "7", uint8(1), "6,06", "006", uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, opA uint8, valsA string, opB uint8, valsB string, opC uint8, valsC string, probe string, mvA, mvB uint8) {
		minValues := func(v uint8) *int {
			if v == 0 {
				return nil
			}
			return intPtr(int(v))
		}
		a := NewRequirementWithMinValues("k", fuzzOperators[int(opA)%len(fuzzOperators)], minValues(mvA), splitValues(valsA)...)
		b := NewRequirementWithMinValues("k", fuzzOperators[int(opB)%len(fuzzOperators)], minValues(mvB), splitValues(valsB)...)
		c := NewRequirement("k", fuzzOperators[int(opC)%len(fuzzOperators)], splitValues(valsC)...)
		before := a.String() + "|" + b.String() + "|" + c.String()

		ab, ba := a.Intersection(b), b.Intersection(a)
		checkCanonical(t, ab)
		if ab.String() != ba.String() {
			t.Fatalf("not commutative: %s ∩ %s = %q, reversed %q", a, b, ab, ba)
		}
		if left, right := ab.Intersection(c).String(), a.Intersection(b.Intersection(c)).String(); left != right {
			t.Fatalf("not associative over %s, %s, %s: %q vs %q", a, b, c, left, right)
		}
		if aa := a.Intersection(a).String(); aa != a.String() {
			t.Fatalf("not idempotent: %s ∩ itself = %q", a, aa)
		}

		probes := []string{probe, a.Any(), b.Any(), ab.Any(), "0", "06", ""}
		probes = append(probes, splitValues(valsA)...)
		probes = append(probes, splitValues(valsB)...)
		probes = append(probes, splitValues(valsC)...)
		for _, v := range probes {
			if got, want := ab.Has(v), a.Has(v) && b.Has(v); got != want {
				t.Fatalf("(%s ∩ %s).Has(%q) = %v, want %v (result %s)", a, b, v, got, want, ab)
			}
		}
		if got, want := ab.AllowsAbsent(), a.AllowsAbsent() && b.AllowsAbsent(); got != want {
			t.Fatalf("(%s ∩ %s).AllowsAbsent() = %v, want %v", a, b, got, want)
		}

		// The allocation-free checks agree with the intersection.
		if a.intersects(b) == ab.Empty() {
			t.Fatalf("intersects(%s, %s) = %v but the intersection is %s", a, b, a.intersects(b), ab)
		}
		if err := NewRequirements(a).Intersects(NewRequirements(b)); (err == nil) == ab.Empty() {
			t.Fatalf("Intersects(%s, %s) = %v but the intersection is %s", a, b, err, ab)
		}
		// Adding into a set is the same intersection.
		set := NewRequirements(a)
		set.Add(b)
		if got := set.Get("k").String(); got != ab.String() {
			t.Fatalf("Add: %q, Intersection: %q", got, ab)
		}
		if mv := ab.MinValues; (mvA == 0 && mvB == 0) != (mv == nil) || mv != nil && *mv != int(max(mvA, mvB)) {
			t.Fatalf("MinValues of %s ∩ %s = %v", a, b, mv)
		}
		if after := a.String() + "|" + b.String() + "|" + c.String(); after != before {
			t.Fatalf("operands changed: %s -> %s", before, after)
		}
	})
}

// FuzzParseInt64 holds the allocation-free integer parser to strconv's rules.
func FuzzParseInt64(f *testing.F) {
	for _, s := range []string{"", "0", "-0", "+0", "5", "05", "+5", "-5", "+", "-", "1_000", " 1", "1 ",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"18446744073709551615", "18446744073709551616", "99999999999999999999", "0x10", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseInt64(s)
		want, err := strconv.ParseInt(s, 10, 64)
		if ok != (err == nil) || ok && got != want {
			t.Fatalf("parseInt64(%q) = %d, %v; strconv says %d, %v", s, got, ok, want, err)
		}
	})
}
