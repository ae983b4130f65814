// Package nodepool writes the status of NodePools, so that
// `kubectl get nodepools` shows what each pool holds and whether it can
// make nodes:
//
//   - status.resources: the capacity of the pool's launched NodeClaims,
//     summed per resource (cpu, memory, pods, ephemeral-storage, extended
//     resources), with "nodes" their count; status.nodes is the count too;
//   - ValidationSucceeded: the pool passes the checks the CRD's validation
//     cannot make (a node class this launcher builds, requirements that some
//     node can satisfy, instance-type keys that exist);
//   - NodeClassReady: its EC2NodeClass exists and is Ready;
//   - Ready: both of the above.
//
// The scheduler plugin keeps its own account of the pool's limits, of
// claims in flight included; the status is for people and tools.
package nodepool
