package userdata

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
)

// nodeLabelsFlag spells labels as kubelet's --node-labels value, sorted so
// that equal labels give equal user data (and one launch template).
func nodeLabelsFlag(labels map[string]string) string {
	parts := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}

// taintsFlag spells taints as kubelet's --register-with-taints value:
// key=value:Effect, or key:Effect for a taint without a value.
func taintsFlag(taints []corev1.Taint) string {
	parts := make([]string, 0, len(taints))
	for _, t := range taints {
		if t.Value == "" {
			parts = append(parts, t.Key+":"+string(t.Effect))
		} else {
			parts = append(parts, t.Key+"="+t.Value+":"+string(t.Effect))
		}
	}
	return strings.Join(parts, ",")
}

// pairsFlag spells a reservation map as cpu=100m,memory=1Gi.
func pairsFlag[V ~string](m map[string]V) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+string(m[k]))
	}
	return strings.Join(parts, ",")
}

// thresholdsFlag spells eviction thresholds as memory.available<100Mi,...
func thresholdsFlag(m map[string]ec2v1.Threshold) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"<"+string(m[k]))
	}
	return strings.Join(parts, ",")
}

// maxPods is the pod limit to write, nil to leave it to the AMI's own
// default for the instance type.
func (c *Config) maxPods() *int32 {
	if c.MaxPods != nil {
		return c.MaxPods
	}
	if c.Kubelet != nil {
		return c.Kubelet.MaxPods
	}
	return nil
}

// kubeletArgs are the command-line flags of kubelet that carry the node's
// registration and the class's kubelet block, for the families that pass
// kubelet flags (AL2, Windows). Values are not quoted: the callers quote the
// whole string for their shell.
func (c *Config) kubeletArgs() []string {
	args := []string{}
	if len(c.Labels) > 0 {
		args = append(args, "--node-labels="+nodeLabelsFlag(c.Labels))
	}
	if len(c.Taints) > 0 {
		args = append(args, "--register-with-taints="+taintsFlag(c.Taints))
	}
	if n := c.maxPods(); n != nil {
		args = append(args, "--max-pods="+strconv.Itoa(int(*n)))
	}
	k := c.Kubelet
	if k == nil {
		return args
	}
	if len(k.KubeReserved) > 0 {
		args = append(args, "--kube-reserved="+pairsFlag(k.KubeReserved))
	}
	if len(k.SystemReserved) > 0 {
		args = append(args, "--system-reserved="+pairsFlag(k.SystemReserved))
	}
	if len(k.EvictionHard) > 0 {
		args = append(args, "--eviction-hard="+thresholdsFlag(k.EvictionHard))
	}
	if len(k.EvictionSoft) > 0 {
		args = append(args, "--eviction-soft="+thresholdsFlag(k.EvictionSoft))
	}
	if len(k.EvictionSoftGracePeriod) > 0 {
		periods := make(map[string]string, len(k.EvictionSoftGracePeriod))
		for signal, d := range k.EvictionSoftGracePeriod {
			periods[signal] = d.Duration.String()
		}
		args = append(args, "--eviction-soft-grace-period="+pairsFlag(periods))
	}
	if k.EvictionMaxPodGracePeriod != nil {
		args = append(args, "--eviction-max-pod-grace-period="+strconv.Itoa(int(*k.EvictionMaxPodGracePeriod)))
	}
	if k.PodsPerCore != nil {
		args = append(args, "--pods-per-core="+strconv.Itoa(int(*k.PodsPerCore)))
	}
	if k.ImageGCHighThresholdPercent != nil {
		args = append(args, "--image-gc-high-threshold="+strconv.Itoa(int(*k.ImageGCHighThresholdPercent)))
	}
	if k.ImageGCLowThresholdPercent != nil {
		args = append(args, "--image-gc-low-threshold="+strconv.Itoa(int(*k.ImageGCLowThresholdPercent)))
	}
	if k.CPUCFSQuota != nil {
		args = append(args, "--cpu-cfs-quota="+strconv.FormatBool(*k.CPUCFSQuota))
	}
	return args
}

// kubeletConfig is the class's kubelet block as fields of kubelet's
// KubeletConfiguration file, for the families that take one (AL2023).
func (c *Config) kubeletConfig() map[string]any {
	cfg := map[string]any{}
	if n := c.maxPods(); n != nil {
		cfg["maxPods"] = *n
	}
	k := c.Kubelet
	if k == nil {
		return cfg
	}
	if len(k.ClusterDNS) > 0 {
		cfg["clusterDNS"] = k.ClusterDNS
	}
	if len(k.KubeReserved) > 0 {
		cfg["kubeReserved"] = k.KubeReserved
	}
	if len(k.SystemReserved) > 0 {
		cfg["systemReserved"] = k.SystemReserved
	}
	if len(k.EvictionHard) > 0 {
		cfg["evictionHard"] = k.EvictionHard
	}
	if len(k.EvictionSoft) > 0 {
		cfg["evictionSoft"] = k.EvictionSoft
	}
	if len(k.EvictionSoftGracePeriod) > 0 {
		periods := make(map[string]string, len(k.EvictionSoftGracePeriod))
		for signal, d := range k.EvictionSoftGracePeriod {
			periods[signal] = d.Duration.String()
		}
		cfg["evictionSoftGracePeriod"] = periods
	}
	if k.EvictionMaxPodGracePeriod != nil {
		cfg["evictionMaxPodGracePeriod"] = *k.EvictionMaxPodGracePeriod
	}
	if k.PodsPerCore != nil {
		cfg["podsPerCore"] = *k.PodsPerCore
	}
	if k.ImageGCHighThresholdPercent != nil {
		cfg["imageGCHighThresholdPercent"] = *k.ImageGCHighThresholdPercent
	}
	if k.ImageGCLowThresholdPercent != nil {
		cfg["imageGCLowThresholdPercent"] = *k.ImageGCLowThresholdPercent
	}
	if k.CPUCFSQuota != nil {
		cfg["cpuCFSQuota"] = *k.CPUCFSQuota
	}
	return cfg
}
