package main

import (
	"encoding/json"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
)

// The pods of the comparison are made once per size and written to a
// file that both sides read, so Karpenter and Tailor solve equal pod
// objects, not two generators' ideas of them.

func writePodsFile(path string, pods []*corev1.Pod) error {
	data, err := json.Marshal(pods)
	if err != nil {
		return fmt.Errorf("encoding the pods: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing the pods: %w", err)
	}
	return nil
}

func readPodsFile(path string) ([]*corev1.Pod, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the pods: %w", err)
	}
	var pods []*corev1.Pod
	if err := json.Unmarshal(data, &pods); err != nil {
		return nil, fmt.Errorf("decoding the pods in %s: %w", path, err)
	}
	return pods, nil
}
