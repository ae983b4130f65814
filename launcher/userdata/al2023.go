package userdata

import (
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// nodeadm's API: the NodeConfig document AL2023 nodes read their cluster and
// kubelet settings from.
const (
	nodeConfigAPIVersion = "node.eks.aws/v1alpha1"
	nodeConfigKind       = "NodeConfig"
)

type nodeConfig struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Spec       nodeConfigSpec `json:"spec"`
}

type nodeConfigSpec struct {
	Cluster  *nodeConfigCluster  `json:"cluster,omitempty"`
	Instance *nodeConfigInstance `json:"instance,omitempty"`
	Kubelet  *nodeConfigKubelet  `json:"kubelet,omitempty"`
}

// nodeConfigInstance is nodeadm's instance block; Tailor sets only how the
// local disks are used.
type nodeConfigInstance struct {
	LocalStorage nodeConfigLocalStorage `json:"localStorage"`
}

type nodeConfigLocalStorage struct {
	// Strategy RAID0 has nodeadm stripe the instance-store disks and mount
	// the array where kubelet and containerd keep their state.
	Strategy string `json:"strategy"`
}

type nodeConfigCluster struct {
	Name              string `json:"name"`
	APIServerEndpoint string `json:"apiServerEndpoint"`
	// CertificateAuthority is base64, as nodeadm reads a []byte.
	CertificateAuthority string `json:"certificateAuthority"`
	CIDR                 string `json:"cidr,omitempty"`
}

type nodeConfigKubelet struct {
	Config map[string]any `json:"config,omitempty"`
	Flags  []string       `json:"flags,omitempty"`
}

// renderAL2023 writes the user's parts, then a NodeConfig that joins the
// cluster: nodeadm merges NodeConfigs in order, so Tailor's registration
// settings win over anything the user set for the same fields.
func renderAL2023(cfg Config) (string, error) {
	parts, err := al2023Parts(cfg.Custom)
	if err != nil {
		return "", err
	}
	nc := nodeConfig{
		APIVersion: nodeConfigAPIVersion,
		Kind:       nodeConfigKind,
		Spec: nodeConfigSpec{
			Cluster: &nodeConfigCluster{
				Name:                 cfg.ClusterName,
				APIServerEndpoint:    cfg.ClusterEndpoint,
				CertificateAuthority: cfg.ClusterCABundle,
				CIDR:                 cfg.ClusterCIDR,
			},
			Kubelet: &nodeConfigKubelet{Config: cfg.kubeletConfig()},
		},
	}
	if cfg.RAID0 {
		nc.Spec.Instance = &nodeConfigInstance{LocalStorage: nodeConfigLocalStorage{Strategy: "RAID0"}}
	}
	if len(cfg.Labels) > 0 {
		nc.Spec.Kubelet.Flags = append(nc.Spec.Kubelet.Flags, "--node-labels="+nodeLabelsFlag(cfg.Labels))
	}
	if len(cfg.Taints) > 0 {
		nc.Spec.Kubelet.Flags = append(nc.Spec.Kubelet.Flags, "--register-with-taints="+taintsFlag(cfg.Taints))
	}
	body, err := yaml.Marshal(nc)
	if err != nil {
		return "", fmt.Errorf("writing the NodeConfig: %w", err)
	}
	return writeMultipart(append(parts, part{contentType: contentTypeNodeConfig, body: string(body)}))
}

// al2023Parts reads the user data of an AL2023 node class as MIME parts: a
// MIME multipart document as it is, and otherwise a single shell script,
// cloud-config or NodeConfig.
func al2023Parts(custom string) ([]part, error) {
	if strings.TrimSpace(custom) == "" {
		return nil, nil
	}
	if isMIME(custom) {
		parts, err := parseMultipart(custom)
		if err != nil {
			return nil, err
		}
		for i, p := range parts {
			if mediaType(p.contentType) != contentTypeNodeConfig {
				continue
			}
			if err := checkNodeConfig(p.body); err != nil {
				return nil, fmt.Errorf("MIME part %d: %w", i+1, err)
			}
		}
		return parts, nil
	}
	if p, ok := scriptPart(custom); ok {
		return []part{p}, nil
	}
	if err := checkNodeConfig(custom); err != nil {
		return nil, fmt.Errorf("it is not a MIME multipart document, a shell script (#!), a cloud-config or a NodeConfig: %w", err)
	}
	return []part{{contentType: contentTypeNodeConfig, body: custom}}, nil
}

// scriptPart recognises a shell script or a cloud-config by its first line.
func scriptPart(s string) (part, bool) {
	head := strings.TrimLeft(s, " \t\r\n")
	switch {
	case strings.HasPrefix(head, "#!"):
		return part{contentType: contentTypeShellScript, body: s}, true
	case strings.HasPrefix(head, "#cloud-config"):
		return part{contentType: contentTypeCloudConfig, body: s}, true
	}
	return part{}, false
}

// checkNodeConfig reports whether a document is a NodeConfig nodeadm would
// read; unknown fields are refused, as nodeadm refuses them.
func checkNodeConfig(doc string) error {
	var nc struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Spec       map[string]any `json:"spec"`
	}
	if err := yaml.UnmarshalStrict([]byte(doc), &nc); err != nil {
		return redact("NodeConfig is not valid YAML of apiVersion, kind and spec", err)
	}
	if nc.APIVersion != nodeConfigAPIVersion || nc.Kind != nodeConfigKind {
		return fmt.Errorf("document is apiVersion %q kind %q, want %s %s", nc.APIVersion, nc.Kind, nodeConfigAPIVersion, nodeConfigKind)
	}
	if nc.Spec == nil {
		return errors.New("NodeConfig has no spec")
	}
	return nil
}
