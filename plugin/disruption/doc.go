// Package disruption takes away capacity that is no longer worth keeping.
// It runs in the scheduler process beside the Tailor plugin, because
// deciding that a node can go is a scheduling decision; the launcher carries
// it out (drain through the Eviction API, then terminate). One replica runs
// it at a time, the holder of the disruption Lease (lease.go).
//
// Every pass runs its methods in order (controller.go):
//
//   - prespin.go: a claim being deleted for a reason that does not wait
//     (interruption, expiry, a user's delete) gets capacity planned for its
//     pods at once, while the node drains.
//   - emptiness.go: a node whose pods, apart from DaemonSet pods, are gone
//     and whose claim holds no reservation goes once it has stayed so for
//     its pool's consolidateAfter, within the budgets for reason Empty.
//   - consolidatable.go: a launched node whose pods have not changed for
//     its pool's consolidateAfter is marked Consolidatable.
//   - multinode.go, singlenode.go: under WhenEmptyOrUnderutilized, nodes
//     whose pods fit on the others (deleted) or on the others and one
//     cheaper node (replaced, replacement first), after a validation
//     period, within the budgets for reason Underutilized
//     (consolidation.go, candidates.go).
//   - drift.go: a node whose claim is Drifted is replaced: replacement
//     capacity first, then the node, within the budgets for reason Drifted.
//   - efficiency.go: every costEfficiencyInterval, what the settled fleet
//     costs against a fresh plan for its pods, as metrics.
//
// Where displaced pods would go is never modelled here: the Planner is the
// plugin's own provisioning path (the same snapshot, solver and Filter
// plugins) with the nodes about to go taken away. karpenter.sh/do-not-disrupt
// on a claim, a node or a pod keeps voluntary disruption away.
package disruption
