package requirements

import (
	"math"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// A requirement is spelled as one or more node selector expressions on its
// key, all of which must hold. Most need one; a few need two, because the
// core operators cannot say "present but not a" in a single expression:
//
//	In [a b]                      -> In [a b]
//	DoesNotExist                  -> DoesNotExist
//	admits nothing                -> In []
//	NotIn [a] (absence allowed)   -> NotIn [a]
//	Exists                        -> Exists
//	Exists and NotIn [a]          -> Exists, NotIn [a]
//	Gt 5 and Lt 8 and NotIn [6]   -> Gt 5, Lt 8, NotIn [6]
//	unconstrained (Get's default) -> nothing at all
//
// Parsing the expressions back and intersecting them gives the requirement
// again, which is what makes NodeSelectorRequirements round-trippable.
// "In []" is not accepted by the API server; a requirement that admits
// nothing should never reach it, and the refusal makes the mistake loud.

// clause is one node selector expression of a requirement's spelling.
type clause struct {
	op     corev1.NodeSelectorOperator
	values []string
}

// clauses returns the spelling of r; at most three expressions.
func (r *Requirement) clauses(buf *[3]clause) []clause {
	out := buf[:0]
	switch {
	case !r.complement && len(r.values) > 0:
		return append(out, clause{op: corev1.NodeSelectorOpIn, values: r.values})
	case !r.complement && r.absent:
		return append(out, clause{op: corev1.NodeSelectorOpDoesNotExist})
	case !r.complement:
		return append(out, clause{op: corev1.NodeSelectorOpIn})
	}
	if r.bounded {
		if r.lo > math.MinInt64 {
			out = append(out, clause{op: corev1.NodeSelectorOpGt, values: []string{strconv.FormatInt(r.lo-1, 10)}})
		}
		if r.hi < math.MaxInt64 {
			out = append(out, clause{op: corev1.NodeSelectorOpLt, values: []string{strconv.FormatInt(r.hi+1, 10)}})
		}
	} else if !r.absent {
		out = append(out, clause{op: corev1.NodeSelectorOpExists})
	}
	if len(r.values) > 0 {
		out = append(out, clause{op: corev1.NodeSelectorOpNotIn, values: r.values})
	}
	return out
}

// appendNodeSelectorRequirements appends the spelling of r to dst, with
// MinValues on the first expression (the only one, whenever r is an In set).
func (r *Requirement) appendNodeSelectorRequirements(dst []karpv1.NodeSelectorRequirementWithMinValues) []karpv1.NodeSelectorRequirementWithMinValues {
	var buf [3]clause
	for i, c := range r.clauses(&buf) {
		nsr := karpv1.NodeSelectorRequirementWithMinValues{Key: r.Key, Operator: c.op}
		if len(c.values) > 0 {
			nsr.Values = append([]string(nil), c.values...)
		}
		if i == 0 {
			nsr.MinValues = copyInt(r.MinValues)
		}
		dst = append(dst, nsr)
	}
	return dst
}

// String spells r for people: the key, then its expressions joined by "and",
// then MinValues if set. For example
//
//	karpenter.k8s.aws/instance-generation Gt 5
//	topology.kubernetes.io/zone In [us-east-1a us-east-1b]
//	team Exists and NotIn [blue]
//	karpenter.k8s.aws/instance-cpu Gt 2 and Lt 17
//	karpenter.k8s.aws/instance-family In [c7i m7i r7i] minValues 2
//
// The unconstrained requirement prints as "key Exists or DoesNotExist". A
// value that is not a plain label value — the empty one above all, so that
// In [""] does not read as In [] — is printed Go-quoted. Equal meanings print
// equally and different ones differently, so String may be compared and used
// as a map key.
func (r *Requirement) String() string {
	var b strings.Builder
	b.WriteString(r.Key)
	var buf [3]clause
	cs := r.clauses(&buf)
	if len(cs) == 0 {
		b.WriteString(" Exists or DoesNotExist")
	}
	for i, c := range cs {
		if i > 0 {
			b.WriteString(" and")
		}
		b.WriteByte(' ')
		b.WriteString(string(c.op))
		switch c.op {
		case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
			b.WriteByte(' ')
			b.WriteString(c.values[0])
		case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
			b.WriteString(" [")
			for i, v := range c.values {
				if i > 0 {
					b.WriteByte(' ')
				}
				writeValue(&b, v)
			}
			b.WriteByte(']')
		}
	}
	if r.MinValues != nil {
		b.WriteString(" minValues ")
		b.WriteString(strconv.Itoa(*r.MinValues))
	}
	return b.String()
}

// writeValue writes v as is when it is made of the characters a label value
// may hold, and Go-quoted otherwise. A quoted value starts with '"', which a
// plain one cannot, so the two never collide.
func writeValue(b *strings.Builder, v string) {
	plain := v != ""
	for i := 0; i < len(v) && plain; i++ {
		c := v[i]
		plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	if plain {
		b.WriteString(v)
		return
	}
	b.WriteString(strconv.Quote(v))
}
