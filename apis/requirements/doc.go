// Package requirements is the algebra Tailor uses to decide whether a pod, a
// NodePool and an instance type can meet on one node.
//
// A Requirement is the set of outcomes one label key may have on a node: a
// value out of some set, or no label at all. Requirements maps keys to such
// sets and means all of them at once. The algebra answers three questions the
// scheduler plugin asks millions of times per pass:
//
//   - can two requirement sets hold on the same node (Intersects, Compatible);
//   - what do they demand together (Intersection, Add);
//   - does a node with given labels satisfy them (MatchesLabels).
//
// The meaning of every operator is the one Kubernetes node affinity gives it,
// so that whatever Tailor predicts the kube-scheduler will later confirm:
//
//   - In and Exists, Gt and Lt need the label to be present;
//   - NotIn and DoesNotExist are satisfied by a node without the label,
//     because Kubernetes judges a missing label as "not one of these values";
//   - Gt and Lt compare the label as a base-10 64-bit integer, strictly, and a
//     value that is not such an integer satisfies neither;
//   - an expression Kubernetes would refuse to parse (In or NotIn without
//     values, Exists or DoesNotExist with values, Gt or Lt without exactly one
//     integer, an unknown operator) is satisfied by no node, as a node
//     selector term holding it selects no node.
//
// Absence of the label is tracked as an outcome of its own, next to the
// values. Without it "Exists and NotIn [a]" would collapse into "NotIn [a]",
// which a node without the label satisfies, and intersection would stop being
// associative: (Exists ∩ NotIn [a]) ∩ DoesNotExist must be as empty as
// Exists ∩ (NotIn [a] ∩ DoesNotExist).
//
// Requirements deliberately ignore label keys they do not mention: a missing
// key constrains nothing. Compatible adds the one asymmetry the autoscaler
// needs: a node carries a custom label only when its NodePool puts it there, so
// a pod that needs a custom label can only go to a pool that defines it, while
// well-known labels (zone, architecture, instance type, ...) are on every node.
//
// Requirement values are immutable once built: methods never modify their
// receiver and results may share memory with their operands, which keeps the
// hot path free of copies. Do not modify a Requirement after handing it out.
package requirements
