package userdata

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
)

func testConfig() Config {
	return Config{
		ClusterName:     "my-cluster",
		ClusterEndpoint: "https://127.0.0.1:6443",
		ClusterCABundle: "Q0EtREFUQQ==",
		Labels:          map[string]string{"karpenter.sh/nodepool": "default", "team": "a"},
		Taints: []corev1.Taint{
			{Key: "dedicated", Value: "ml", Effect: corev1.TaintEffectNoSchedule},
			{Key: "karpenter.sh/unregistered", Effect: corev1.TaintEffectNoExecute},
		},
		Kubelet: &ec2v1.KubeletConfiguration{
			MaxPods:      ptr.To[int32](42),
			ClusterDNS:   []string{"10.100.0.10"},
			KubeReserved: map[string]ec2v1.Quantity{"cpu": "100m", "memory": "1Gi"},
			EvictionHard: map[string]ec2v1.Threshold{"memory.available": "5%"},
		},
	}
}

// TestRenderCarriesRegistration: every family's user data names the
// cluster and carries the node's labels, taints, pod limit and
// reservations, spelled as the family's bootstrap reads them.
func TestRenderCarriesRegistration(t *testing.T) {
	tests := []struct {
		family string
		want   []string
	}{
		{ec2v1.AMIFamilyAL2023, []string{
			"Content-Type: application/node.eks.aws", "kind: NodeConfig", "name: my-cluster",
			"apiServerEndpoint: https://127.0.0.1:6443", "certificateAuthority: Q0EtREFUQQ==",
			"--node-labels=karpenter.sh/nodepool=default,team=a",
			"--register-with-taints=dedicated=ml:NoSchedule,karpenter.sh/unregistered:NoExecute",
			"maxPods: 42", "memory.available: 5%",
		}},
		{ec2v1.AMIFamilyAL2, []string{
			"Content-Type: text/x-shellscript", "/etc/eks/bootstrap.sh 'my-cluster'", "--apiserver-endpoint 'https://127.0.0.1:6443'",
			"--b64-cluster-ca 'Q0EtREFUQQ=='", "--use-max-pods false", "--dns-cluster-ip '10.100.0.10'",
			"--kubelet-extra-args '--node-labels=karpenter.sh/nodepool=default,team=a --register-with-taints=dedicated=ml:NoSchedule,karpenter.sh/unregistered:NoExecute --max-pods=42 --kube-reserved=cpu=100m,memory=1Gi --eviction-hard=memory.available<5%'",
		}},
		{ec2v1.AMIFamilyBottlerocket, []string{
			"cluster-name = \"my-cluster\"", "api-server = \"https://127.0.0.1:6443\"", "max-pods = 42",
			"[settings.kubernetes.node-labels]", "\"karpenter.sh/nodepool\" = \"default\"",
			"[settings.kubernetes.node-taints]", "dedicated = [\"ml:NoSchedule\"]", "\"karpenter.sh/unregistered\" = [\":NoExecute\"]",
			"[settings.kubernetes.kube-reserved]", "cpu = \"100m\"",
		}},
		{ec2v1.AMIFamilyWindows2022, []string{
			"<powershell>", "-EKSClusterName 'my-cluster'", "-APIServerEndpoint 'https://127.0.0.1:6443'", "-Base64ClusterCA 'Q0EtREFUQQ=='",
			"-KubeletExtraArgs '--node-labels=karpenter.sh/nodepool=default,team=a --register-with-taints=dedicated=ml:NoSchedule,karpenter.sh/unregistered:NoExecute --max-pods=42",
			"-DNSClusterIP '10.100.0.10'", "</powershell>",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.family, func(t *testing.T) {
			got, err := Render(tc.family, testConfig())
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.want {
				if !strings.Contains(got, want) {
					t.Errorf("user data lacks %q:\n%s", want, got)
				}
			}
		})
	}
}

// TestRenderMergesCustom: a class's own user data is kept, in the place its
// family runs it before Tailor's part, and Tailor's settings win where both
// set one.
func TestRenderMergesCustom(t *testing.T) {
	tests := []struct {
		family string
		custom string
		check  func(t *testing.T, out string)
	}{
		{ec2v1.AMIFamilyAL2023, "#!/bin/bash\necho hello\n", func(t *testing.T, out string) {
			parts := mustParts(t, out)
			if len(parts) != 2 || strings.TrimSpace(parts[0].body) != "#!/bin/bash\necho hello" || mediaType(parts[1].contentType) != contentTypeNodeConfig {
				t.Errorf("parts %+v, want the script then Tailor's NodeConfig", parts)
			}
		}},
		{ec2v1.AMIFamilyAL2023, "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n      shutdownGracePeriod: 30s\n", func(t *testing.T, out string) {
			parts := mustParts(t, out)
			if len(parts) != 2 || !strings.Contains(parts[0].body, "shutdownGracePeriod") || mediaType(parts[0].contentType) != contentTypeNodeConfig {
				t.Errorf("parts %+v, want the user's NodeConfig first", parts)
			}
		}},
		{ec2v1.AMIFamilyAL2023, "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"BOUNDARY\"\n\n--BOUNDARY\nContent-Type: text/x-shellscript\n\n#!/bin/sh\ntrue\n--BOUNDARY--\n", func(t *testing.T, out string) {
			parts := mustParts(t, out)
			if len(parts) != 2 || !strings.HasPrefix(parts[0].body, "#!/bin/sh") {
				t.Errorf("parts %+v, want the user's part kept first", parts)
			}
		}},
		{ec2v1.AMIFamilyBottlerocket, "[settings.kubernetes]\nmax-pods = 7\ncluster-name = 'other'\n[settings.kubernetes.node-labels]\nmine = 'yes'\n[settings.host-containers.admin]\nenabled = true\n", func(t *testing.T, out string) {
			var doc struct {
				Settings struct {
					Kubernetes struct {
						ClusterName string            `toml:"cluster-name"`
						MaxPods     int               `toml:"max-pods"`
						NodeLabels  map[string]string `toml:"node-labels"`
					} `toml:"kubernetes"`
					HostContainers map[string]map[string]bool `toml:"host-containers"`
				} `toml:"settings"`
			}
			if _, err := toml.Decode(out, &doc); err != nil {
				t.Fatal(err)
			}
			k := doc.Settings.Kubernetes
			if k.ClusterName != "my-cluster" || k.MaxPods != 42 || k.NodeLabels["mine"] != "yes" || k.NodeLabels["team"] != "a" || !doc.Settings.HostContainers["admin"]["enabled"] {
				t.Errorf("merged settings %+v, want Tailor's cluster and pod limit and both sets of labels and the user's host container", doc.Settings)
			}
		}},
		{ec2v1.AMIFamilyWindows2019, "<powershell>\nWrite-Host hello\n</powershell>", func(t *testing.T, out string) {
			if strings.Count(out, "<powershell>") != 1 || strings.Index(out, "Write-Host hello") > strings.Index(out, "EKSBootstrapScriptFile") {
				t.Errorf("want one PowerShell block with the user's script first:\n%s", out)
			}
		}},
		{ec2v1.AMIFamilyCustom, "#!/bin/bash\nmy own bootstrap\n", func(t *testing.T, out string) {
			if out != "#!/bin/bash\nmy own bootstrap\n" {
				t.Errorf("Custom user data changed: %q", out)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.family, func(t *testing.T) {
			cfg := testConfig()
			cfg.Custom = tc.custom
			out, err := Render(tc.family, cfg)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, out)
		})
	}
}

func mustParts(t *testing.T, doc string) []part {
	t.Helper()
	parts, err := parseMultipart(doc)
	if err != nil {
		t.Fatalf("Tailor's document does not parse: %v\n%s", err, doc)
	}
	return parts
}

// TestNodeConfigIsYAML: the NodeConfig is a document nodeadm can read back.
func TestNodeConfigIsYAML(t *testing.T) {
	out, err := Render(ec2v1.AMIFamilyAL2023, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	parts := mustParts(t, out)
	var nc nodeConfig
	if err := yaml.UnmarshalStrict([]byte(parts[len(parts)-1].body), &nc); err != nil {
		t.Fatal(err)
	}
	if nc.Spec.Cluster.Name != "my-cluster" || len(nc.Spec.Kubelet.Flags) != 2 || nc.Spec.Kubelet.Config["maxPods"] != float64(42) {
		t.Errorf("NodeConfig read back as %+v", nc)
	}
}

// TestValidate: user data each family cannot merge is refused with the
// reason; what it can merge passes.
func TestValidate(t *testing.T) {
	tests := []struct {
		family, custom string
		wantErr        string
	}{
		{ec2v1.AMIFamilyAL2023, "", ""},
		{ec2v1.AMIFamilyAL2023, "#!/bin/bash\ntrue", ""},
		{ec2v1.AMIFamilyAL2023, "#cloud-config\npackages: [jq]", ""},
		{ec2v1.AMIFamilyAL2023, "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec: {}\n", ""},
		{ec2v1.AMIFamilyAL2023, "echo hello", "not a MIME multipart document, a shell script"},
		{ec2v1.AMIFamilyAL2023, "apiVersion: v1\nkind: ConfigMap\nspec: {}\n", "want node.eks.aws/v1alpha1 NodeConfig"},
		{ec2v1.AMIFamilyAL2023, "kind: NodeConfig\nspec: [a", "not valid YAML"},
		{ec2v1.AMIFamilyAL2023, "MIME-Version: 1.0\nContent-Type: text/plain\n\nhello", "not multipart"},
		{ec2v1.AMIFamilyAL2023, "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: application/node.eks.aws\n\nkind: Pod\n--B--\n", "MIME part 1"},
		{ec2v1.AMIFamilyAL2, "#!/bin/bash\ntrue", ""},
		{ec2v1.AMIFamilyAL2, "yum install -y jq", "not a MIME multipart document, a shell script (#!) or a cloud-config"},
		{ec2v1.AMIFamilyBottlerocket, "[settings.kubernetes]\nmax-pods = 10", ""},
		{ec2v1.AMIFamilyBottlerocket, "[settings.kubernetes", "it is not TOML"},
		{ec2v1.AMIFamilyBottlerocket, "settings = 3", "settings is a int64, not a table"},
		{ec2v1.AMIFamilyBottlerocket, "[settings.kubernetes]\nnode-labels = 'x'", "settings.kubernetes.node-labels is a string, not a table"},
		{ec2v1.AMIFamilyBottlerocket, "[settings.kubernetes.node-taints]\nkey = 'v:NoSchedule'", "not a list"},
		{ec2v1.AMIFamilyWindows2022, "Write-Host hi", ""},
		{ec2v1.AMIFamilyWindows2022, "<powershell>Write-Host hi", "does not close"},
		{ec2v1.AMIFamilyWindows2022, "<powershell>a</powershell><powershell>b</powershell>", "more than one <powershell> block"},
		{ec2v1.AMIFamilyCustom, "anything at all", ""},
		{"Plan9", "x", "unknown AMI family"},
	}
	for _, tc := range tests {
		t.Run(tc.family+"/"+tc.custom, func(t *testing.T) {
			err := Validate(tc.family, tc.custom)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate: %v, want no error", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate: %v, want an error saying %q", err, tc.wantErr)
			}
		})
	}
}

// TestWriteMultipartRefusesBoundaryInPart: a part that holds the boundary
// would split into two; it is refused rather than written wrong.
func TestWriteMultipartRefusesBoundaryInPart(t *testing.T) {
	if _, err := writeMultipart([]part{{contentType: contentTypeShellScript, body: "#!/bin/sh\n--//\n"}}); err == nil {
		t.Error("a part holding the boundary was written")
	}
}

// TestValidateQuotesNothing: errors about user data locate the problem
// without repeating what the user data says, which may be a secret.
func TestValidateQuotesNothing(t *testing.T) {
	const secret = "hunter2-token"
	for family, custom := range map[string]string{
		ec2v1.AMIFamilyAL2023:       "kind: NodeConfig\nspec: [" + secret,
		ec2v1.AMIFamilyBottlerocket: "[settings.kubernetes]\ntoken = " + secret,
		ec2v1.AMIFamilyAL2:          "MIME-Version: 1.0\n" + secret + "\n\nbody",
	} {
		err := Validate(family, custom)
		if err == nil {
			t.Errorf("%s: invalid user data accepted", family)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error quotes the user data: %v", family, err)
		}
	}
}
