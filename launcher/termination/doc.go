// Package termination takes nodes away without losing pods: deleting a
// NodeClaim or its Node taints the node karpenter.sh/disrupted:NoSchedule,
// drains it through the Eviction API, waits for its volumes to detach,
// terminates the instance, and lets both objects go once the instance is
// shutting down.
//
// The drain evicts in order: ordinary pods first, then critical ones
// (system-cluster-critical and system-node-critical), then DaemonSet pods,
// ordinary before critical, each group only once the one before it is gone,
// so that the node's agents keep serving the pods that still run. Pods that
// tolerate the disrupted taint are left alone, since they would be scheduled
// right back. PodDisruptionBudgets are honoured: an eviction the API server
// refuses (429) is tried again later. Pods annotated karpenter.sh/do-not-
// disrupt are not evicted at all.
//
// Once drained, the node keeps its instance while VolumeAttachments for it
// remain (except those of volumes that pods the drain leaves still use), so
// that the attach-detach controller detaches them cleanly and the evicted
// pods' replacements can attach them elsewhere. The claim's VolumesDetached
// condition says what is waited for.
//
// A claim's terminationGracePeriod bounds all of this: once it has passed
// since the claim was deleted, the remaining pods are deleted, each early
// enough that its own grace period ends with the claim's, and the instance
// is terminated whatever still runs on it and whatever is still attached.
// Without one, the wait for volumes alone is bounded, by
// DefaultDetachTimeout.
package termination
