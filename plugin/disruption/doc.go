// Package disruption takes away capacity that is no longer worth its price.
// It runs in the scheduler process beside the Tailor plugin, because
// deciding that a node can go is a scheduling decision; the launcher carries
// it out (drain through the Eviction API, then terminate).
//
// This version removes empty nodes: a node of a NodePool whose pods, apart
// from DaemonSet pods, are gone and whose claim holds no reservation, once
// it has stayed so for the pool's consolidateAfter, within the pool's
// disruption budgets, unless the node or one of its pods says
// karpenter.sh/do-not-disrupt. That is the whole of WhenEmpty, and the part
// of WhenEmptyOrUnderutilized that needs no replacement.
package disruption
