package requirements

import (
	"math"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

const (
	in     = corev1.NodeSelectorOpIn
	notIn  = corev1.NodeSelectorOpNotIn
	exists = corev1.NodeSelectorOpExists
	dne    = corev1.NodeSelectorOpDoesNotExist
	gt     = corev1.NodeSelectorOpGt
	lt     = corev1.NodeSelectorOpLt
)

// k builds a requirement on the test key "k".
func k(op corev1.NodeSelectorOperator, values ...string) *Requirement {
	return NewRequirement("k", op, values...)
}

func intPtr(v int) *int { return &v }

func TestNewRequirement(t *testing.T) {
	tests := []struct {
		name      string
		op        corev1.NodeSelectorOperator
		values    []string
		minValues *int
		want      string
		empty     bool
		absent    bool
	}{
		{name: "In sorts and dedups", op: in, values: []string{"b", "a", "b"}, want: "k In [a b]"},
		{name: "In quotes values that are not plain", op: in, values: []string{"a b", "", "c"}, want: `k In ["" "a b" c]`},
		{name: "In with minValues", op: in, values: []string{"a", "b"}, minValues: intPtr(2), want: "k In [a b] minValues 2"},
		{name: "In without values admits nothing", op: in, want: "k In []", empty: true},
		{name: "NotIn", op: notIn, values: []string{"b", "a"}, want: "k NotIn [a b]", absent: true},
		{name: "NotIn without values admits nothing", op: notIn, want: "k In []", empty: true},
		{name: "Exists", op: exists, want: "k Exists"},
		{name: "Exists with values admits nothing", op: exists, values: []string{"a"}, want: "k In []", empty: true},
		{name: "DoesNotExist", op: dne, want: "k DoesNotExist", absent: true},
		{name: "DoesNotExist with values admits nothing", op: dne, values: []string{"a"}, want: "k In []", empty: true},
		{name: "Gt", op: gt, values: []string{"5"}, want: "k Gt 5"},
		{name: "Gt with plus sign", op: gt, values: []string{"+5"}, want: "k Gt 5"},
		{name: "Gt with leading zero", op: gt, values: []string{"05"}, want: "k Gt 5"},
		{name: "Gt negative", op: gt, values: []string{"-3"}, want: "k Gt -3"},
		{name: "Gt smallest int64", op: gt, values: []string{"-9223372036854775808"}, want: "k Gt -9223372036854775808"},
		{name: "Gt largest int64 admits nothing", op: gt, values: []string{"9223372036854775807"}, want: "k In []", empty: true},
		{name: "Gt beyond int64 admits nothing", op: gt, values: []string{"9223372036854775808"}, want: "k In []", empty: true},
		{name: "Gt not an integer admits nothing", op: gt, values: []string{"five"}, want: "k In []", empty: true},
		{name: "Gt decimal admits nothing", op: gt, values: []string{"5.0"}, want: "k In []", empty: true},
		{name: "Gt without value admits nothing", op: gt, want: "k In []", empty: true},
		{name: "Gt with two values admits nothing", op: gt, values: []string{"1", "2"}, want: "k In []", empty: true},
		{name: "Lt", op: lt, values: []string{"8"}, want: "k Lt 8"},
		{name: "Lt zero", op: lt, values: []string{"0"}, want: "k Lt 0"},
		{name: "Lt largest int64", op: lt, values: []string{"9223372036854775807"}, want: "k Lt 9223372036854775807"},
		{name: "Lt smallest int64 admits nothing", op: lt, values: []string{"-9223372036854775808"}, want: "k In []", empty: true},
		{name: "unknown operator admits nothing", op: "Near", values: []string{"a"}, want: "k In []", empty: true},
		{name: "empty operator admits nothing", op: "", want: "k In []", empty: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRequirementWithMinValues("k", tt.op, tt.minValues, tt.values...)
			if got := r.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if got := r.Empty(); got != tt.empty {
				t.Errorf("Empty() = %v, want %v", got, tt.empty)
			}
			if got := r.AllowsAbsent(); got != tt.absent {
				t.Errorf("AllowsAbsent() = %v, want %v", got, tt.absent)
			}
		})
	}
}

func TestNewRequirementCopiesInputs(t *testing.T) {
	values := []string{"b", "a"}
	mv := 1
	r := NewRequirementWithMinValues("k", in, &mv, values...)
	values[0] = "z"
	mv = 7
	if got := r.String(); got != "k In [a b] minValues 1" {
		t.Fatalf("requirement changed with its inputs: %q", got)
	}
	got := r.Values()
	got[0] = "z"
	if r.Has("z") || !r.Has("a") {
		t.Fatal("Values() handed out the requirement's own slice")
	}
}

func TestHas(t *testing.T) {
	tests := []struct {
		req   *Requirement
		value string
		want  bool
	}{
		{k(in, "a", "b"), "a", true},
		{k(in, "a", "b"), "c", false},
		{k(in, "a", "b"), "", false},
		{k(in, ""), "", true},
		{k(notIn, "a"), "a", false},
		{k(notIn, "a"), "b", true},
		{k(exists), "anything", true},
		{k(exists), "", true},
		{k(dne), "a", false},
		{k(gt, "5"), "6", true},
		{k(gt, "5"), "5", false},
		{k(gt, "5"), "4", false},
		{k(gt, "5"), "06", true},
		{k(gt, "5"), "+6", true},
		{k(gt, "5"), "6.0", false},
		{k(gt, "5"), "six", false},
		{k(gt, "5"), "", false},
		{k(gt, "5"), "9223372036854775807", true},
		{k(gt, "5"), "99999999999999999999", false},
		{k(lt, "8"), "7", true},
		{k(lt, "8"), "8", false},
		{k(lt, "8"), "-100", true},
		{k(lt, "8"), "seven", false},
	}
	for _, tt := range tests {
		if got := tt.req.Has(tt.value); got != tt.want {
			t.Errorf("%s Has(%q) = %v, want %v", tt.req, tt.value, got, tt.want)
		}
	}
}

// TestIntersectionOperatorPairs covers every ordered pair of the six
// operators. Each expectation is written once and checked in both orders,
// which also pins commutativity down.
func TestIntersectionOperatorPairs(t *testing.T) {
	samples := map[corev1.NodeSelectorOperator]*Requirement{
		in:     k(in, "4", "6"),
		notIn:  k(notIn, "6", "7"),
		exists: k(exists),
		dne:    k(dne),
		gt:     k(gt, "5"),
		lt:     k(lt, "8"),
	}
	type result struct {
		str    string
		op     corev1.NodeSelectorOperator
		empty  bool
		absent bool
	}
	want := map[[2]corev1.NodeSelectorOperator]result{
		{in, in}:         {"k In [4 6]", in, false, false},
		{in, notIn}:      {"k In [4]", in, false, false},
		{in, exists}:     {"k In [4 6]", in, false, false},
		{in, dne}:        {"k In []", in, true, false},
		{in, gt}:         {"k In [6]", in, false, false},
		{in, lt}:         {"k In [4 6]", in, false, false},
		{notIn, notIn}:   {"k NotIn [6 7]", notIn, false, true},
		{notIn, exists}:  {"k Exists and NotIn [6 7]", notIn, false, false},
		{notIn, dne}:     {"k DoesNotExist", dne, false, true},
		{notIn, gt}:      {"k Gt 5 and NotIn [6 7]", notIn, false, false},
		{notIn, lt}:      {"k Lt 8 and NotIn [6 7]", notIn, false, false},
		{exists, exists}: {"k Exists", exists, false, false},
		{exists, dne}:    {"k In []", in, true, false},
		{exists, gt}:     {"k Gt 5", exists, false, false},
		{exists, lt}:     {"k Lt 8", exists, false, false},
		{dne, dne}:       {"k DoesNotExist", dne, false, true},
		{dne, gt}:        {"k In []", in, true, false},
		{dne, lt}:        {"k In []", in, true, false},
		{gt, gt}:         {"k Gt 5", exists, false, false},
		{gt, lt}:         {"k Gt 5 and Lt 8", exists, false, false},
		{lt, lt}:         {"k Lt 8", exists, false, false},
	}
	probes := []string{"", "4", "5", "6", "7", "8", "06", "x"}
	ops := []corev1.NodeSelectorOperator{in, notIn, exists, dne, gt, lt}
	cases := 0
	for _, opA := range ops {
		for _, opB := range ops {
			exp, ok := want[[2]corev1.NodeSelectorOperator{opA, opB}]
			if !ok {
				exp = want[[2]corev1.NodeSelectorOperator{opB, opA}]
			}
			a, b := samples[opA], samples[opB]
			cases++
			t.Run(string(opA)+"∩"+string(opB), func(t *testing.T) {
				got := a.Intersection(b)
				if s := got.String(); s != exp.str {
					t.Errorf("%s ∩ %s = %q, want %q", a, b, s, exp.str)
				}
				if op := got.Operator(); op != exp.op {
					t.Errorf("Operator() = %s, want %s", op, exp.op)
				}
				if e := got.Empty(); e != exp.empty {
					t.Errorf("Empty() = %v, want %v", e, exp.empty)
				}
				if a.intersects(b) == exp.empty {
					t.Errorf("intersects() = %v, want %v", !exp.empty, !exp.empty)
				}
				if ab := got.AllowsAbsent(); ab != exp.absent {
					t.Errorf("AllowsAbsent() = %v, want %v", ab, exp.absent)
				}
				for _, v := range probes {
					if got.Has(v) != (a.Has(v) && b.Has(v)) {
						t.Errorf("Has(%q) = %v, want %v", v, got.Has(v), a.Has(v) && b.Has(v))
					}
				}
			})
		}
	}
	if cases != 36 {
		t.Fatalf("covered %d operator pairs, want 36", cases)
	}
}

func TestIntersectionIntegerBounds(t *testing.T) {
	tests := []struct {
		name    string
		reqs    []*Requirement
		want    string
		admits  []string
		rejects []string
	}{
		{
			name:    "Gt 5 and Lt 8 admit 6 and 7",
			reqs:    []*Requirement{k(gt, "5"), k(lt, "8")},
			want:    "k Gt 5 and Lt 8",
			admits:  []string{"6", "7", "06", "+7"},
			rejects: []string{"5", "8", "x", ""},
		},
		{
			name:    "Gt 5 and In [4 6] is In [6]",
			reqs:    []*Requirement{k(gt, "5"), k(in, "4", "6")},
			want:    "k In [6]",
			admits:  []string{"6"},
			rejects: []string{"4", "7", "06"},
		},
		{
			name:    "Gt 5 and Lt 6 admit nothing",
			reqs:    []*Requirement{k(gt, "5"), k(lt, "6")},
			want:    "k In []",
			rejects: []string{"5", "6", "5.5"},
		},
		{
			name: "tighter bound wins",
			reqs: []*Requirement{k(gt, "5"), k(gt, "7"), k(lt, "20"), k(lt, "12")},
			want: "k Gt 7 and Lt 12",
		},
		{
			name:    "exclusions outside the bounds are dropped",
			reqs:    []*Requirement{k(gt, "5"), k(notIn, "x", "3", "6", "06")},
			want:    "k Gt 5 and NotIn [06 6]",
			admits:  []string{"7", "006"},
			rejects: []string{"6", "06", "3", "x"},
		},
		{
			name:    "a single integer with every canonical spelling excluded is still satisfiable",
			reqs:    []*Requirement{k(gt, "5"), k(lt, "7"), k(notIn, "6")},
			want:    "k Gt 5 and Lt 7 and NotIn [6]",
			admits:  []string{"06"},
			rejects: []string{"6", "5", "7"},
		},
		{
			name:    "Gt and a non-integer In admit nothing",
			reqs:    []*Requirement{k(gt, "5"), k(in, "large")},
			want:    "k In []",
			rejects: []string{"large"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.reqs[0]
			for _, r := range tt.reqs[1:] {
				got = got.Intersection(r)
			}
			if s := got.String(); s != tt.want {
				t.Errorf("got %q, want %q", s, tt.want)
			}
			for _, v := range tt.admits {
				if !got.Has(v) {
					t.Errorf("%s does not admit %q", got, v)
				}
			}
			for _, v := range tt.rejects {
				if got.Has(v) {
					t.Errorf("%s admits %q", got, v)
				}
			}
		})
	}
}

func TestIntersectionMinValues(t *testing.T) {
	tests := []struct {
		a, b *int
		want *int
	}{
		{nil, nil, nil},
		{intPtr(2), nil, intPtr(2)},
		{nil, intPtr(3), intPtr(3)},
		{intPtr(2), intPtr(3), intPtr(3)},
		{intPtr(4), intPtr(3), intPtr(4)},
	}
	for _, tt := range tests {
		a := NewRequirementWithMinValues("k", in, tt.a, "a", "b", "c", "d")
		b := NewRequirementWithMinValues("k", exists, tt.b)
		for _, got := range []*Requirement{a.Intersection(b), b.Intersection(a)} {
			switch {
			case tt.want == nil && got.MinValues != nil:
				t.Errorf("MinValues = %d, want nil", *got.MinValues)
			case tt.want != nil && (got.MinValues == nil || *got.MinValues != *tt.want):
				t.Errorf("MinValues = %v, want %d", got.MinValues, *tt.want)
			case got.MinValues != nil && (got.MinValues == a.MinValues || got.MinValues == b.MinValues):
				t.Error("MinValues aliases an operand's pointer")
			}
		}
	}
}

func TestIntersectionKeepsOperands(t *testing.T) {
	a, b := k(in, "a", "b", "c"), k(notIn, "b")
	before := a.String() + "|" + b.String()
	_ = a.Intersection(b)
	_ = b.Intersection(a)
	if after := a.String() + "|" + b.String(); after != before {
		t.Fatalf("operands changed: %s -> %s", before, after)
	}
}

func TestOperatorValuesBounds(t *testing.T) {
	tests := []struct {
		req          *Requirement
		op           corev1.NodeSelectorOperator
		values       []string
		gt, lt       int64
		hasGt, hasLt bool
	}{
		{req: k(in, "b", "a"), op: in, values: []string{"a", "b"}},
		{req: k(notIn, "b", "a"), op: notIn, values: []string{"a", "b"}},
		{req: k(exists), op: exists},
		{req: k(dne), op: dne},
		{req: k(in), op: in},
		{req: k(gt, "5"), op: exists, gt: 5, hasGt: true},
		{req: k(lt, "8"), op: exists, lt: 8, hasLt: true},
		{req: k(gt, "5").Intersection(k(lt, "8")), op: exists, gt: 5, hasGt: true, lt: 8, hasLt: true},
		{req: k(gt, "5").Intersection(k(notIn, "7")), op: notIn, values: []string{"7"}, gt: 5, hasGt: true},
		{req: k(gt, "5").Intersection(k(in, "6", "7")), op: in, values: []string{"6", "7"}},
	}
	for _, tt := range tests {
		if got := tt.req.Operator(); got != tt.op {
			t.Errorf("%s: Operator() = %s, want %s", tt.req, got, tt.op)
		}
		if got := tt.req.Values(); !slices.Equal(got, tt.values) {
			t.Errorf("%s: Values() = %q, want %q", tt.req, got, tt.values)
		}
		g, hg, l, hl := tt.req.Bounds()
		if g != tt.gt || hg != tt.hasGt || l != tt.lt || hl != tt.hasLt {
			t.Errorf("%s: Bounds() = %d %v %d %v, want %d %v %d %v", tt.req, g, hg, l, hl, tt.gt, tt.hasGt, tt.lt, tt.hasLt)
		}
	}
}

func TestLenAndAny(t *testing.T) {
	tests := []struct {
		req *Requirement
		len int
		any string
	}{
		{req: k(in, "b", "a"), len: 2, any: "a"},
		{req: k(notIn, "0", "1"), len: math.MaxInt, any: "2"},
		{req: k(exists), len: math.MaxInt, any: "0"},
		{req: k(dne), len: 0, any: ""},
		{req: k(in), len: 0, any: ""},
		{req: k(gt, "5"), len: math.MaxInt, any: "6"},
		{req: k(lt, "8"), len: math.MaxInt, any: "7"},
		{req: k(gt, "5").Intersection(k(notIn, "6", "7")), len: math.MaxInt, any: "8"},
		{req: k(gt, "5").Intersection(k(lt, "7")).Intersection(k(notIn, "6")), len: math.MaxInt, any: "06"},
		{req: k(lt, "-3"), len: math.MaxInt, any: "-4"},
		{req: k(gt, "-6").Intersection(k(lt, "-3")).Intersection(k(notIn, "-5", "-4")), len: math.MaxInt, any: "-05"},
		{req: k(gt, "9223372036854775806"), len: math.MaxInt, any: "9223372036854775807"},
		{req: k(gt, "9223372036854775805").Intersection(k(notIn, "9223372036854775806")), len: math.MaxInt, any: "9223372036854775807"},
	}
	for _, tt := range tests {
		if got := tt.req.Len(); got != tt.len {
			t.Errorf("%s: Len() = %d, want %d", tt.req, got, tt.len)
		}
		got := tt.req.Any()
		if got != tt.any {
			t.Errorf("%s: Any() = %q, want %q", tt.req, got, tt.any)
		}
		if got != "" && !tt.req.Has(got) {
			t.Errorf("%s: Any() = %q, which it does not admit", tt.req, got)
		}
		if again := tt.req.Any(); again != got {
			t.Errorf("%s: Any() not deterministic: %q then %q", tt.req, got, again)
		}
	}
}
