package userdata

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/BurntSushi/toml"
)

// renderBottlerocket writes Bottlerocket's TOML settings: the user's, with
// the settings that join the cluster and register the node set by Tailor.
// Labels and taints are merged with the user's, Tailor's winning on a key
// both set; everything else the user set is kept.
func renderBottlerocket(cfg Config) (string, error) {
	doc, err := parseBottlerocket(cfg.Custom)
	if err != nil {
		return "", err
	}
	settings := table(doc, "settings")
	k8s := table(settings, "kubernetes")
	k8s["cluster-name"] = cfg.ClusterName
	k8s["api-server"] = cfg.ClusterEndpoint
	k8s["cluster-certificate"] = cfg.ClusterCABundle
	if n := cfg.maxPods(); n != nil {
		k8s["max-pods"] = int64(*n)
	}
	if len(cfg.Labels) > 0 {
		labels := table(k8s, "node-labels")
		for key, value := range cfg.Labels {
			labels[key] = value
		}
	}
	if len(cfg.Taints) > 0 {
		taints := table(k8s, "node-taints")
		for _, t := range cfg.Taints {
			entry := t.Value + ":" + string(t.Effect)
			existing := stringList(taints[t.Key])
			if !slices.Contains(existing, entry) {
				existing = append(existing, entry)
			}
			taints[t.Key] = existing
		}
	}
	if k := cfg.Kubelet; k != nil {
		switch len(k.ClusterDNS) {
		case 0:
		case 1:
			k8s["cluster-dns-ip"] = k.ClusterDNS[0]
		default:
			k8s["cluster-dns-ip"] = k.ClusterDNS
		}
		setStrings(k8s, "kube-reserved", k.KubeReserved)
		setStrings(k8s, "system-reserved", k.SystemReserved)
		setStrings(k8s, "eviction-hard", k.EvictionHard)
		setStrings(k8s, "eviction-soft", k.EvictionSoft)
		if len(k.EvictionSoftGracePeriod) > 0 {
			periods := table(k8s, "eviction-soft-grace-period")
			for signal, d := range k.EvictionSoftGracePeriod {
				periods[signal] = d.Duration.String()
			}
		}
		setInt(k8s, "eviction-max-pod-grace-period", k.EvictionMaxPodGracePeriod)
		setInt(k8s, "pods-per-core", k.PodsPerCore)
		setInt(k8s, "image-gc-high-threshold-percent", k.ImageGCHighThresholdPercent)
		setInt(k8s, "image-gc-low-threshold-percent", k.ImageGCLowThresholdPercent)
		if k.CPUCFSQuota != nil {
			k8s["cpu-cfs-quota-enforced"] = *k.CPUCFSQuota
		}
	}
	if cfg.RAID0 {
		table(settings, "bootstrap-commands")[raid0Command] = raid0BootstrapCommand()
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(doc); err != nil {
		return "", fmt.Errorf("writing the Bottlerocket settings: %w", err)
	}
	return buf.String(), nil
}

// parseBottlerocket reads a node class's Bottlerocket settings. The tables
// Tailor writes into must be tables if the user set them.
func parseBottlerocket(custom string) (map[string]any, error) {
	doc := map[string]any{}
	if _, err := toml.Decode(custom, &doc); err != nil {
		return nil, redact("it is not TOML", err)
	}
	settings, ok := doc["settings"]
	if !ok {
		return doc, nil
	}
	settingsTable, ok := settings.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("settings is a %T, not a table", settings)
	}
	if v, ok := settingsTable["bootstrap-commands"]; ok {
		if _, isTable := v.(map[string]any); !isTable {
			return nil, fmt.Errorf("settings.bootstrap-commands is a %T, not a table", v)
		}
	}
	k8s, ok := settingsTable["kubernetes"]
	if !ok {
		return doc, nil
	}
	k8sTable, ok := k8s.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("settings.kubernetes is a %T, not a table", k8s)
	}
	for _, key := range []string{"node-labels", "node-taints", "kube-reserved", "system-reserved", "eviction-hard", "eviction-soft", "eviction-soft-grace-period"} {
		if v, ok := k8sTable[key]; ok {
			if _, isTable := v.(map[string]any); !isTable {
				return nil, fmt.Errorf("settings.kubernetes.%s is a %T, not a table", key, v)
			}
		}
	}
	if taints, ok := k8sTable["node-taints"].(map[string]any); ok {
		for key, v := range taints {
			if _, isList := v.([]any); !isList {
				return nil, fmt.Errorf("settings.kubernetes.node-taints.%q is a %T, not a list of \"value:Effect\"", key, v)
			}
		}
	}
	return doc, nil
}

// table returns the table under key in parent, creating it when missing.
// parseBottlerocket has checked that an existing value is a table.
func table(parent map[string]any, key string) map[string]any {
	if t, ok := parent[key].(map[string]any); ok {
		return t
	}
	t := map[string]any{}
	parent[key] = t
	return t
}

// stringList reads a TOML array of strings, as decoded into []any.
func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list)+1)
	for _, item := range list {
		out = append(out, fmt.Sprint(item))
	}
	return out
}

func setStrings[V ~string](parent map[string]any, key string, m map[string]V) {
	if len(m) == 0 {
		return
	}
	t := table(parent, key)
	for k, v := range m {
		t[k] = string(v)
	}
}

func setInt(parent map[string]any, key string, v *int32) {
	if v != nil {
		parent[key] = int64(*v)
	}
}
