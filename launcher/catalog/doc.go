// Package catalog answers the question the solver asks on every decision:
// which EC2 instance types may a NodePool launch, built from a given
// EC2NodeClass, and what does each cost in each zone?
//
// An InstanceType carries what kubelet will report once the node is up, not
// what EC2 sells: allocatable is capacity minus the kube-reserved,
// system-reserved and eviction thresholds that the node class's kubelet block
// and the EKS defaults produce, so that pods packed on paper fit on the real
// node. Each type carries its offerings (zone x capacity type, with an hourly
// price), and offerings that EC2 recently refused for lack of capacity are
// marked unavailable for a while, so the next decision looks elsewhere.
//
// Facts come from a Source: the table compiled into this package (offline
// mode, tests, the EC2 simulator) or EC2 itself (package launcher/aws). The
// Provider built on a Source caches per NodePool and EC2NodeClass generation,
// because the solver asks many times per scheduling pass and the answer only
// changes when one of them, the facts, or the unavailable offerings change.
package catalog

//go:generate go run ../../hack/gen-catalog
