package ec2sim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// applyKubeletFlags reads the kubelet flags that shape a Node; the rest are
// kubelet's business. source names where they came from, for errors.
func (c *bootConfig) applyKubeletFlags(args []string, source string) error {
	for i := 0; i < len(args); i++ {
		name, value, inline := strings.Cut(args[i], "=")
		if !strings.HasPrefix(name, "--") {
			continue
		}
		switch name {
		case "--node-labels", "--register-with-taints", "--max-pods", "--kube-reserved", "--system-reserved", "--eviction-hard":
		default:
			continue
		}
		if !inline {
			if i+1 >= len(args) {
				return fmt.Errorf("%s: kubelet flag %s has no value", source, name)
			}
			i++
			value = args[i]
		}
		if err := c.applyKubeletFlag(name, value); err != nil {
			return fmt.Errorf("%s: kubelet flag %s: %w", source, name, err)
		}
	}
	return nil
}

func (c *bootConfig) applyKubeletFlag(name, value string) error {
	switch name {
	case "--node-labels":
		for i, kv := range splitList(value) {
			k, v, _ := strings.Cut(kv, "=")
			if err := validLabel(k, v); err != nil {
				return fmt.Errorf("label %d: %w", i+1, err)
			}
			c.Labels[k] = v
		}
	case "--register-with-taints":
		for i, spec := range splitList(value) {
			t, err := parseTaint(spec)
			if err != nil {
				return fmt.Errorf("taint %d: %w", i+1, err)
			}
			c.Taints = append(c.Taints, t)
		}
	case "--max-pods":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 1 {
			return errors.New("not a positive integer")
		}
		c.MaxPods = &n
	case "--kube-reserved", "--system-reserved":
		values := map[string]string{}
		for _, kv := range splitList(value) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return errors.New("an entry is not resource=quantity")
			}
			values[k] = v
		}
		dst := c.KubeReserved
		if name == "--system-reserved" {
			dst = c.SystemReserved
		}
		return mergeResources(dst, values, "")
	case "--eviction-hard":
		values := map[string]string{}
		for _, kv := range splitList(value) {
			k, v, ok := strings.Cut(kv, "<")
			if !ok {
				return errors.New("an entry is not signal<threshold")
			}
			values[k] = v
		}
		return c.addEvictionHard(values, "")
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// parseTaint reads kubelet's taint syntax: key[=value]:Effect.
func parseTaint(spec string) (corev1.Taint, error) {
	i := strings.LastIndex(spec, ":")
	if i < 0 {
		return corev1.Taint{}, errors.New("not key[=value]:effect")
	}
	key, value, _ := strings.Cut(spec[:i], "=")
	t := corev1.Taint{Key: key, Value: value, Effect: corev1.TaintEffect(spec[i+1:])}
	return t, validTaint(t)
}

func validTaint(t corev1.Taint) error {
	switch t.Effect {
	case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
	default:
		return errors.New("the effect is not NoSchedule, PreferNoSchedule or NoExecute")
	}
	if errs := validation.IsQualifiedName(t.Key); len(errs) > 0 {
		return fmt.Errorf("the key is invalid: %s", strings.Join(errs, "; "))
	}
	if errs := validation.IsValidLabelValue(t.Value); len(errs) > 0 {
		return fmt.Errorf("the value is invalid: %s", strings.Join(errs, "; "))
	}
	return nil
}

func validLabel(key, value string) error {
	if errs := validation.IsQualifiedName(key); len(errs) > 0 {
		return fmt.Errorf("the key is invalid: %s", strings.Join(errs, "; "))
	}
	if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
		return fmt.Errorf("the value is invalid: %s", strings.Join(errs, "; "))
	}
	return nil
}

// mergeResources parses resource=quantity settings into dst. Kubelet also
// reserves pids, which the simulated node does not report.
func mergeResources(dst corev1.ResourceList, values map[string]string, source string) error {
	for _, name := range sortedKeys(values) {
		if name == "pid" {
			continue
		}
		q, err := resource.ParseQuantity(values[name])
		if err != nil || q.Sign() < 0 {
			return fmt.Errorf("%sthe %s reservation is not a non-negative quantity", where(source), name)
		}
		dst[corev1.ResourceName(name)] = q
	}
	return nil
}

// addEvictionHard records hard eviction thresholds, checking each is a
// quantity or a percentage.
func (c *bootConfig) addEvictionHard(values map[string]string, source string) error {
	for _, signal := range sortedKeys(values) {
		v := values[signal]
		if pct, ok := strings.CutSuffix(v, "%"); ok {
			if f, err := strconv.ParseFloat(pct, 64); err != nil || f < 0 || f > 100 {
				return fmt.Errorf("%sthe %s threshold is not a percentage", where(source), signal)
			}
		} else if _, err := resource.ParseQuantity(v); err != nil {
			return fmt.Errorf("%sthe %s threshold is not a quantity or a percentage", where(source), signal)
		}
		c.EvictionHard[signal] = v
	}
	return nil
}
