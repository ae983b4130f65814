package ec2sim

import (
	"errors"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
	corev1 "k8s.io/api/core/v1"
)

// readBottlerocket reads Bottlerocket's TOML settings:
//
//	[settings.kubernetes]            cluster-name, max-pods
//	[settings.kubernetes.node-labels] "key" = "value"
//	[settings.kubernetes.node-taints] "key" = ["value:Effect", ...]
//	[settings.kubernetes.kube-reserved], [...system-reserved], [...eviction-hard]
func (c *bootConfig) readBottlerocket(text string) error {
	c.Format = formatBottlerocket
	var doc map[string]any
	if _, err := toml.Decode(text, &doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("its Bottlerocket settings are not valid TOML (line %d)", pe.Position.Line)
		}
		return errors.New("its Bottlerocket settings are not valid TOML")
	}
	settings, _ := doc["settings"].(map[string]any)
	c.RAID0 = bindsEphemeralStorage(settings)
	k8s, ok := settings["kubernetes"].(map[string]any)
	if !ok {
		return errors.New("its Bottlerocket settings have no [settings.kubernetes] table")
	}
	if name, ok := k8s["cluster-name"].(string); ok {
		c.ClusterName = name
	}
	if v, ok := k8s["max-pods"]; ok {
		n, ok := v.(int64)
		if !ok || n < 1 {
			return errors.New("settings.kubernetes.max-pods is not a positive integer")
		}
		c.MaxPods = &n
	}
	labels, err := stringTable(k8s, "node-labels")
	if err != nil {
		return err
	}
	for i, key := range sortedKeys(labels) {
		if err := validLabel(key, labels[key]); err != nil {
			return fmt.Errorf("settings.kubernetes.node-labels entry %d: %w", i+1, err)
		}
		c.Labels[key] = labels[key]
	}
	if err := c.readBottlerocketTaints(k8s); err != nil {
		return err
	}
	for _, table := range []struct {
		key string
		dst corev1.ResourceList
	}{{"kube-reserved", c.KubeReserved}, {"system-reserved", c.SystemReserved}} {
		values, err := stringTable(k8s, table.key)
		if err != nil {
			return err
		}
		if err := mergeResources(table.dst, values, "settings.kubernetes."+table.key); err != nil {
			return err
		}
	}
	eviction, err := stringTable(k8s, "eviction-hard")
	if err != nil {
		return err
	}
	return c.addEvictionHard(eviction, "settings.kubernetes.eviction-hard")
}

func (c *bootConfig) readBottlerocketTaints(k8s map[string]any) error {
	raw, ok := k8s["node-taints"]
	if !ok {
		return nil
	}
	table, ok := raw.(map[string]any)
	if !ok {
		return errors.New("settings.kubernetes.node-taints is not a table")
	}
	for i, key := range sortedKeys(table) {
		var values []string
		switch v := table[key].(type) {
		case string:
			values = []string{v}
		case []any:
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("settings.kubernetes.node-taints entry %d is not a list of strings", i+1)
				}
				values = append(values, s)
			}
		default:
			return fmt.Errorf("settings.kubernetes.node-taints entry %d is not a string or a list of strings", i+1)
		}
		for _, v := range values {
			value, effect, found := strings.Cut(v, ":")
			if !found {
				value, effect = "", v
			}
			t := corev1.Taint{Key: key, Value: value, Effect: corev1.TaintEffect(effect)}
			if err := validTaint(t); err != nil {
				return fmt.Errorf("settings.kubernetes.node-taints entry %d: %w", i+1, err)
			}
			c.Taints = append(c.Taints, t)
		}
	}
	return nil
}

// stringTable returns a TOML table of strings.
func stringTable(parent map[string]any, key string) (map[string]string, error) {
	raw, ok := parent[key]
	if !ok {
		return nil, nil
	}
	table, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("settings.kubernetes.%s is not a table", key)
	}
	out := make(map[string]string, len(table))
	for k, v := range table {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("settings.kubernetes.%s has a value that is not a string", key)
		}
		out[k] = s
	}
	return out, nil
}

// bindsEphemeralStorage reports whether an always-run bootstrap command
// stripes the instance-store disks (apiclient ephemeral-storage init) and
// binds kubelet's directory onto them (ephemeral-storage bind), as a node
// that keeps its ephemeral storage there does.
func bindsEphemeralStorage(settings map[string]any) bool {
	commands, _ := settings["bootstrap-commands"].(map[string]any)
	for _, v := range commands {
		cmd, _ := v.(map[string]any)
		if mode, _ := cmd["mode"].(string); mode != "always" && mode != "once" {
			continue
		}
		list, _ := cmd["commands"].([]any)
		var initialised bool
		for _, item := range list {
			words := stringList(item)
			line := strings.Join(words, " ")
			if strings.HasPrefix(line, "apiclient ephemeral-storage init") {
				initialised = true
			}
			if initialised && strings.HasPrefix(line, "apiclient ephemeral-storage bind") &&
				(!strings.Contains(line, "--dirs") || strings.Contains(line, "/var/lib/kubelet")) {
				return true
			}
		}
	}
	return false
}

// stringList reads a TOML array as strings.
func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, item := range list {
		out = append(out, fmt.Sprint(item))
	}
	return out
}
