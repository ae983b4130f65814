package catalog

// kubeletDefaultMaxPods is kubelet's own pod limit, which a node keeps when
// nothing computes another for it.
const kubeletDefaultMaxPods = 110

// WindowsMaxPods is the pod limit of a Windows node. The VPC CNI on Windows
// gives pods secondary addresses of the primary network interface only, and
// the interface keeps its first address for itself, so a node can address
// one pod fewer than the interface has addresses; the ENI formula of Linux
// nodes, which counts every interface, would plan pods the node cannot
// start. Karpenter reaches the same bound differently: it leaves the pod
// limit at kubelet's 110 and advertises the addresses as
// vpc.amazonaws.com/PrivateIPv4Address, which the VPC resource controller's
// webhook makes Windows pods request. Tailor's solver places pods whether or
// not that webhook ran, so it puts the bound in the pod limit itself, and
// the launcher writes the same limit into the node's kubelet flags.
func WindowsMaxPods(ipv4PerENI int32) int32 {
	if ipv4PerENI <= 1 {
		// Unknown address limits: kubelet's default is all that is known.
		return kubeletDefaultMaxPods
	}
	return min(ipv4PerENI-1, kubeletDefaultMaxPods)
}
