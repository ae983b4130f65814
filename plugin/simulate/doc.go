// Package simulate answers, for the solver, whether a pod may go on a node
// that does not exist yet, by running the scheduler profile's own PreFilter
// and Filter plugins against a snapshot that holds the real nodes with their
// pods, the nodes of in-flight NodeClaims, and the solver's planned nodes.
// Nothing of scheduling is re-implemented: taints, inter-pod affinity and
// anti-affinity, topology spread, host ports and volume restrictions are the
// in-tree plugins' verdicts (and those of any out-of-tree Filter the profile
// enables).
//
// Two Filter plugins are left out, because a planned node is not one node but
// a set of possible instance types: NodeResourcesFit (the solver checks the
// room of every type it keeps) and NodeAffinity (the solver narrows the
// node's requirements with the pod's, so the node keeps every zone and type
// the pod allows instead of being pinned to one). VolumeBinding and
// DynamicResources are left out too: they bind storage and devices to real
// nodes and have no answer for a planned one; the zones a pod's volumes
// allow are written into its node affinity before it is solved
// (plugin/volumetopology). So is Coscheduling: a gang is
// decided whole by the solver's caller, not node by node.
//
// So that topology spread sees every domain a pool can launch into, the
// snapshot also holds one empty placeholder node per pool and zone: a zone
// with no node yet counts as an empty domain, as it will be once a node is
// launched there. Placeholders are never offered to the solver.
//
// Pods without inter-pod constraints, host ports or volumes, in a snapshot
// where no pod has required anti-affinity, take a fast path: only taints can
// refuse them, and the toleration check is the same one TaintToleration
// runs.
//
// A snapshot can be frozen and serve many solves, each on a view of it
// without some nodes, as a disruption search plans each candidate: nodes are
// copied on write, and PreFilter results are carried from view to view
// where the plugins' own AddPod and RemovePod keep them exact (views.go).
package simulate
