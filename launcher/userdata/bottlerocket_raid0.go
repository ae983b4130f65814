package userdata

// raid0Command names the bootstrap command that sets up the instance store
// on Bottlerocket. Bottlerocket runs bootstrap commands in name order, so
// the leading zeros put it before any a user adds; a user command of the
// same name is replaced.
const raid0Command = "000-mount-instance-storage"

// raid0BootstrapCommand is Bottlerocket's way to the RAID0 instance-store
// policy: it has no setting for it, but its API client can stripe the
// instance-store disks (ephemeral-storage init) and bind kubelet's,
// containerd's and the pod logs' directories onto the array
// (ephemeral-storage bind). The command runs on every boot, as the array
// does not survive a stop, and is essential: a node without its storage
// must not join, since the scheduler counted the disks as its ephemeral
// storage.
func raid0BootstrapCommand() map[string]any {
	return map[string]any{
		"commands": [][]string{
			{"apiclient", "ephemeral-storage", "init"},
			{"apiclient", "ephemeral-storage", "bind", "--dirs", "/var/lib/containerd", "/var/lib/kubelet", "/var/log/pods"},
		},
		"mode":      "always",
		"essential": true,
	}
}
