// Package userdata writes the user data that turns an EC2 instance into a
// node of the cluster, in the format of each AMI family: a nodeadm NodeConfig
// in a MIME multipart document for AL2023, a bootstrap.sh call in a MIME
// multipart document for AL2, Bottlerocket's TOML settings, and a PowerShell
// call of the EKS bootstrap script for Windows. The node's labels, its taints
// (karpenter.sh/unregistered among them, which the launcher lifts when it
// links the node to its NodeClaim), its pod limit and kubelet's reservations
// go there, so that kubelet registers the node the way the scheduler planned
// it.
//
// An EC2NodeClass may bring user data of its own. It is merged, never
// replaced: the user's MIME parts run before Tailor's for AL2023 and AL2, the
// user's Bottlerocket settings are kept except for the ones that join the
// cluster, and the user's PowerShell runs before the bootstrap script. A
// Custom AMI gets the user's user data unchanged. Validate tells a node class
// whose user data cannot be merged before any instance is launched with it.
package userdata
