package ec2sim

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// User-data formats a simulated node reads.
const (
	formatNodeadm      = "nodeadm"
	formatBootstrapSh  = "bootstrap.sh"
	formatBottlerocket = "bottlerocket"
	formatWindows      = "windows"
)

// kubeletDefaultMaxPods is kubelet's own pod limit, which applies when
// bootstrap.sh is told not to compute one (--use-max-pods false) and no
// --max-pods flag is given.
const kubeletDefaultMaxPods = 110

// bootConfig is what a node's user data tells its kubelet: the part of the
// node's bootstrap the simulator acts out.
type bootConfig struct {
	Format string
	// ClusterName is the cluster the node joins, when the user data names it.
	ClusterName string
	Labels      map[string]string
	Taints      []corev1.Taint
	// MaxPods is nil when the AMI computes the limit from the ENIs.
	MaxPods        *int64
	KubeReserved   corev1.ResourceList
	SystemReserved corev1.ResourceList
	// EvictionHard maps eviction signals to thresholds: a quantity or a
	// percentage of capacity.
	EvictionHard map[string]string
	// RAID0 says the bootstrap stripes the instance-store disks and puts
	// kubelet's state on the array, so that ephemeral storage is their size.
	RAID0 bool
}

// parseUserData reads a node's base64 user data. Errors say what is wrong
// and where, never what the user data holds: it may carry secrets, and the
// simulator logs these errors.
func parseUserData(encoded string) (*bootConfig, error) {
	if encoded == "" {
		return nil, errors.New("the instance has no user data")
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, errors.New("the user data is not base64")
	}
	text := string(raw)
	if isMIME(text) {
		return parseMIME(text)
	}
	cfg := newBootConfig()
	switch {
	case strings.Contains(text, "<powershell>"):
		err = cfg.readWindows(text)
	case strings.Contains(text, "/etc/eks/bootstrap.sh"):
		err = cfg.readBootstrapSh(text)
	case strings.Contains(text, "node.eks.aws/"):
		err = cfg.readNodeConfig(text)
	case strings.Contains(text, "[settings"):
		err = cfg.readBottlerocket(text)
	default:
		err = errors.New("it is none of the formats a node reads: a nodeadm NodeConfig (MIME or YAML), an /etc/eks/bootstrap.sh call, Bottlerocket TOML settings, or the Windows EKS bootstrap script")
	}
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

func newBootConfig() *bootConfig {
	return &bootConfig{Labels: map[string]string{}, KubeReserved: corev1.ResourceList{}, SystemReserved: corev1.ResourceList{}, EvictionHard: map[string]string{}}
}

func isMIME(text string) bool {
	head := text
	if i := strings.Index(text, "\n\n"); i >= 0 {
		head = text[:i]
	}
	return strings.HasPrefix(strings.TrimSpace(text), "MIME-Version:") || strings.Contains(strings.ToLower(head), "content-type: multipart/")
}

// parseMIME reads a MIME multi-part document, as cloud-init and nodeadm do:
// NodeConfig parts (application/node.eks.aws) are merged in order, and a
// shell-script part that calls bootstrap.sh is read as an AL2 node would.
func parseMIME(text string) (*bootConfig, error) {
	tp := textproto.NewReader(bufio.NewReader(strings.NewReader(text)))
	header, err := tp.ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("its MIME header is malformed: %w", err)
	}
	mediaType, ps, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mediaType, "multipart/") || ps["boundary"] == "" {
		return nil, errors.New("its MIME document has no multipart Content-Type with a boundary")
	}
	cfg := newBootConfig()
	found := false
	mr := multipart.NewReader(tp.R, ps["boundary"])
	for i := 1; ; i++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("MIME part %d is malformed: %w", i, err)
		}
		body, err := io.ReadAll(part)
		if err != nil {
			return nil, fmt.Errorf("MIME part %d cannot be read: %w", i, err)
		}
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
			if body, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(body)), "")); err != nil {
				return nil, fmt.Errorf("MIME part %d says base64 but is not", i)
			}
		}
		partType, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch {
		case partType == "application/node.eks.aws":
			if err := cfg.readNodeConfig(string(body)); err != nil {
				return nil, fmt.Errorf("MIME part %d: %w", i, err)
			}
			found = true
		case strings.HasPrefix(partType, "text/x-shellscript") && strings.Contains(string(body), "/etc/eks/bootstrap.sh"):
			if err := cfg.readBootstrapSh(string(body)); err != nil {
				return nil, fmt.Errorf("MIME part %d: %w", i, err)
			}
			found = true
		}
	}
	if !found {
		return nil, errors.New("its MIME parts hold no NodeConfig (application/node.eks.aws) and no call of /etc/eks/bootstrap.sh")
	}
	return cfg, nil
}

// nodeConfig is the part of nodeadm's NodeConfig (node.eks.aws/v1alpha1)
// that shapes the Node.
type nodeConfig struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		Cluster struct {
			Name string `json:"name"`
		} `json:"cluster"`
		Instance struct {
			LocalStorage struct {
				Strategy string `json:"strategy"`
			} `json:"localStorage"`
		} `json:"instance"`
		Kubelet struct {
			Config struct {
				MaxPods            *int64            `json:"maxPods"`
				KubeReserved       map[string]string `json:"kubeReserved"`
				SystemReserved     map[string]string `json:"systemReserved"`
				EvictionHard       map[string]string `json:"evictionHard"`
				RegisterWithTaints []corev1.Taint    `json:"registerWithTaints"`
			} `json:"config"`
			Flags []string `json:"flags"`
		} `json:"kubelet"`
	} `json:"spec"`
}

func (c *bootConfig) readNodeConfig(text string) error {
	c.Format = formatNodeadm
	var nc nodeConfig
	if err := yaml.Unmarshal([]byte(text), &nc); err != nil {
		return fmt.Errorf("its NodeConfig is not valid YAML of the expected shape: %w", err)
	}
	if nc.Kind != "NodeConfig" || !strings.HasPrefix(nc.APIVersion, "node.eks.aws/") {
		return errors.New("its nodeadm document is not a node.eks.aws NodeConfig")
	}
	if nc.Spec.Cluster.Name != "" {
		c.ClusterName = nc.Spec.Cluster.Name
	}
	switch strategy := nc.Spec.Instance.LocalStorage.Strategy; strategy {
	case "":
	case "RAID0":
		c.RAID0 = true
	case "RAID10", "Mount":
		c.RAID0 = false
	default:
		return fmt.Errorf("instance.localStorage.strategy %q is none of RAID0, RAID10 and Mount", strategy)
	}
	kc := nc.Spec.Kubelet.Config
	if kc.MaxPods != nil {
		c.MaxPods = kc.MaxPods
	}
	if err := mergeResources(c.KubeReserved, kc.KubeReserved, "kubelet.config.kubeReserved"); err != nil {
		return err
	}
	if err := mergeResources(c.SystemReserved, kc.SystemReserved, "kubelet.config.systemReserved"); err != nil {
		return err
	}
	if err := c.addEvictionHard(kc.EvictionHard, "kubelet.config.evictionHard"); err != nil {
		return err
	}
	for i, t := range kc.RegisterWithTaints {
		if err := validTaint(t); err != nil {
			return fmt.Errorf("kubelet.config.registerWithTaints[%d]: %w", i, err)
		}
		c.Taints = append(c.Taints, t)
	}
	// nodeadm hands the flags to kubelet through a shell, so a value may be
	// quoted: --node-labels="a=b,c=d".
	var flags []string
	for i, f := range nc.Spec.Kubelet.Flags {
		words, err := shellWords(f)
		if err != nil {
			return fmt.Errorf("kubelet.flags[%d]: %w", i, err)
		}
		flags = append(flags, words...)
	}
	return c.applyKubeletFlags(flags, "kubelet.flags")
}

// where prefixes an error with the setting it is about, when known.
func where(source string) string {
	if source == "" {
		return ""
	}
	return source + ": "
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortByKey(keys, func(k string) string { return k })
	return keys
}
