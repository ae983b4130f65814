package reservation

import (
	"encoding/json"
	"fmt"
)

// Annotation on a NodeClaim lists the pods it was bought for, as JSON, so a
// restarted scheduler rebuilds its reservations from the claims.
const Annotation = "tailor.sh/reserved-for"

// Encode spells the pods for Annotation.
func Encode(pods []Pod) (string, error) {
	raw, err := json.Marshal(pods)
	if err != nil {
		return "", fmt.Errorf("encoding reservations: %w", err)
	}
	return string(raw), nil
}

// Decode reads Annotation; an empty value is no pods.
func Decode(value string) ([]Pod, error) {
	if value == "" {
		return nil, nil
	}
	var pods []Pod
	if err := json.Unmarshal([]byte(value), &pods); err != nil {
		return nil, fmt.Errorf("reading annotation %s: %w", Annotation, err)
	}
	return pods, nil
}
