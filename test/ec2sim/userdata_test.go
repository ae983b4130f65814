package ec2sim

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/launcher/userdata"
)

// secret stands for what real user data carries (a CA bundle, a bootstrap
// token): no error may repeat it.
const secret = "c2VjcmV0LWNsdXN0ZXItY2EtZG8tbm90LWxvZw"

const al2023MIME = `MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="//"

--//
Content-Type: text/x-shellscript; charset="us-ascii"

#!/bin/bash
echo custom
--//
Content-Type: application/node.eks.aws

apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: my-cluster
    apiServerEndpoint: https://ABC.gr7.us-east-1.eks.amazonaws.com
    certificateAuthority: ` + secret + `
    cidr: 10.100.0.0/16
  kubelet:
    config:
      maxPods: 42
      clusterDNS:
      - 10.100.0.10
      kubeReserved:
        cpu: 80m
        memory: 893Mi
        ephemeral-storage: 1Gi
      systemReserved:
        cpu: 100m
        memory: 100Mi
      evictionHard:
        memory.available: 5%
        nodefs.available: 10%
    flags:
    - --node-labels="karpenter.sh/capacity-type=on-demand,karpenter.sh/nodepool=default,team=a"
    - --register-with-taints="karpenter.sh/unregistered:NoExecute,dedicated=gpu:NoSchedule"

--//--
`

const al2Script = `#!/bin/bash -xe
exec > >(tee /var/log/user-data.log|logger -t user-data -s 2>/dev/console) 2>&1
/etc/eks/bootstrap.sh 'my-cluster' --apiserver-endpoint 'https://ABC.gr7.us-east-1.eks.amazonaws.com' --b64-cluster-ca '` + secret + `' \
--container-runtime containerd \
--dns-cluster-ip '10.100.0.10' \
--use-max-pods false \
--kubelet-extra-args '--node-labels="karpenter.sh/nodepool=default,team=b" --register-with-taints="karpenter.sh/unregistered:NoExecute" --max-pods=58 --kube-reserved=cpu=70m,memory=574Mi --eviction-hard=memory.available<100Mi'
`

const bottlerocketTOML = `[settings.kubernetes]
api-server = "https://ABC.gr7.us-east-1.eks.amazonaws.com"
cluster-certificate = "` + secret + `"
cluster-name = "my-cluster"
max-pods = 110

[settings.kubernetes.node-labels]
"karpenter.sh/nodepool" = "default"
"team" = "c"

[settings.kubernetes.node-taints]
"karpenter.sh/unregistered" = [":NoExecute"]
"dedicated" = ["gpu:NoSchedule", "gpu:NoExecute"]

[settings.kubernetes.kube-reserved]
cpu = "70m"
memory = "574Mi"

[settings.kubernetes.eviction-hard]
"memory.available" = "15%"
`

const windowsScript = `<powershell>
[string]$EKSBootstrapScriptFile = "$env:ProgramFiles\Amazon\EKS\Start-EKSBootstrap.ps1"
& $EKSBootstrapScriptFile -EKSClusterName 'my-cluster' -APIServerEndpoint 'https://ABC.gr7.us-east-1.eks.amazonaws.com' -Base64ClusterCA '` + secret + `' -KubeletExtraArgs '--node-labels="karpenter.sh/nodepool=windows" --register-with-taints="os=windows:NoSchedule" --max-pods=110' -DNSClusterIP '10.100.0.10' 3>&1 4>&1 5>&1 6>&1
</powershell>
`

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func quantities(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func pods(n int64) *int64 { return &n }

// TestParseUserData reads each user-data format a node understands and
// checks what kubelet would register from it.
func TestParseUserData(t *testing.T) {
	for _, tc := range []struct {
		name     string
		userData string
		want     bootConfig
	}{
		{
			name:     "AL2023 nodeadm MIME with flags and kubelet config",
			userData: b64(al2023MIME),
			want: bootConfig{
				Format: formatNodeadm, ClusterName: "my-cluster", MaxPods: pods(42),
				Labels: map[string]string{"karpenter.sh/capacity-type": "on-demand", "karpenter.sh/nodepool": "default", "team": "a"},
				Taints: []corev1.Taint{
					{Key: "karpenter.sh/unregistered", Effect: corev1.TaintEffectNoExecute},
					{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule},
				},
				KubeReserved:   quantities("cpu", "80m", "memory", "893Mi", "ephemeral-storage", "1Gi"),
				SystemReserved: quantities("cpu", "100m", "memory", "100Mi"),
				EvictionHard:   map[string]string{"memory.available": "5%", "nodefs.available": "10%"},
			},
		},
		{
			name: "a bare NodeConfig with registerWithTaints in the kubelet config",
			userData: b64(`apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  kubelet:
    config:
      registerWithTaints:
      - key: example.com/special
        value: "true"
        effect: PreferNoSchedule
`),
			want: bootConfig{
				Format: formatNodeadm, Labels: map[string]string{},
				Taints:       []corev1.Taint{{Key: "example.com/special", Value: "true", Effect: corev1.TaintEffectPreferNoSchedule}},
				KubeReserved: corev1.ResourceList{}, SystemReserved: corev1.ResourceList{}, EvictionHard: map[string]string{},
			},
		},
		{
			name: "AL2 bootstrap.sh in a MIME shell-script part",
			userData: b64("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"BOUNDARY\"\n\n--BOUNDARY\n" +
				"Content-Type: text/x-shellscript; charset=\"us-ascii\"\n\n" + al2Script + "\n--BOUNDARY--\n"),
			want: bootConfig{
				Format: formatBootstrapSh, ClusterName: "my-cluster", MaxPods: pods(58),
				Labels:       map[string]string{"karpenter.sh/nodepool": "default", "team": "b"},
				Taints:       []corev1.Taint{{Key: "karpenter.sh/unregistered", Effect: corev1.TaintEffectNoExecute}},
				KubeReserved: quantities("cpu", "70m", "memory", "574Mi"), SystemReserved: corev1.ResourceList{},
				EvictionHard: map[string]string{"memory.available": "100Mi"},
			},
		},
		{
			name:     "AL2 with --use-max-pods false and no --max-pods gets kubelet's 110",
			userData: b64("#!/bin/bash\n/etc/eks/bootstrap.sh my-cluster --use-max-pods false --kubelet-extra-args '--node-labels=a=b'\n"),
			want: bootConfig{
				Format: formatBootstrapSh, ClusterName: "my-cluster", MaxPods: pods(110), Labels: map[string]string{"a": "b"},
				KubeReserved: corev1.ResourceList{}, SystemReserved: corev1.ResourceList{}, EvictionHard: map[string]string{},
			},
		},
		{
			name:     "Bottlerocket TOML",
			userData: b64(bottlerocketTOML),
			want: bootConfig{
				Format: formatBottlerocket, ClusterName: "my-cluster", MaxPods: pods(110),
				Labels: map[string]string{"karpenter.sh/nodepool": "default", "team": "c"},
				Taints: []corev1.Taint{
					{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule},
					{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoExecute},
					{Key: "karpenter.sh/unregistered", Effect: corev1.TaintEffectNoExecute},
				},
				KubeReserved: quantities("cpu", "70m", "memory", "574Mi"), SystemReserved: corev1.ResourceList{},
				EvictionHard: map[string]string{"memory.available": "15%"},
			},
		},
		{
			name:     "Windows EKS bootstrap",
			userData: b64(windowsScript),
			want: bootConfig{
				Format: formatWindows, ClusterName: "my-cluster", MaxPods: pods(110),
				Labels:       map[string]string{"karpenter.sh/nodepool": "windows"},
				Taints:       []corev1.Taint{{Key: "os", Value: "windows", Effect: corev1.TaintEffectNoSchedule}},
				KubeReserved: corev1.ResourceList{}, SystemReserved: corev1.ResourceList{}, EvictionHard: map[string]string{},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseUserData(tc.userData)
			if err != nil {
				t.Fatalf("parseUserData: %v", err)
			}
			if !equalResources(got.KubeReserved, tc.want.KubeReserved) || !equalResources(got.SystemReserved, tc.want.SystemReserved) {
				t.Errorf("reservations kube %v system %v, want %v and %v", got.KubeReserved, got.SystemReserved, tc.want.KubeReserved, tc.want.SystemReserved)
			}
			got.KubeReserved, got.SystemReserved = tc.want.KubeReserved, tc.want.SystemReserved
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got\n%+v\nwant\n%+v", *got, tc.want)
			}
		})
	}
}

func equalResources(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for name, q := range a {
		if w, ok := b[name]; !ok || q.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

// TestParseUserDataRefuses: user data a node cannot read is reported with a
// reason that names the problem and never quotes the user data.
func TestParseUserDataRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, userData, wantReason string
	}{
		{"no user data", "", "no user data"},
		{"not base64", "#!/bin/bash", "not base64"},
		{"a script that never bootstraps", b64("#!/bin/bash\necho " + secret + "\n"), "none of the formats"},
		{"a MIME document without a node part", b64("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"//\"\n\n--//\nContent-Type: text/x-shellscript\n\necho " + secret + "\n--//--\n"), "no NodeConfig"},
		{"a NodeConfig of the wrong kind", b64("apiVersion: node.eks.aws/v1alpha1\nkind: NodeGroup\nspec:\n  cluster:\n    name: " + secret + "\n"), "not a node.eks.aws NodeConfig"},
		{"a taint with an unknown effect", b64(strings.Replace(al2023MIME, "dedicated=gpu:NoSchedule", "dedicated=gpu:Sometimes", 1)), "effect"},
		{"a label value kubelet refuses", b64(strings.Replace(al2023MIME, "team=a", "team=a b c!", 1)), "label 3"},
		{"Bottlerocket TOML that does not parse", b64("[settings.kubernetes]\ncluster-certificate = " + secret + "\n"), "not valid TOML (line 2)"},
		{"Bottlerocket without the kubernetes table", b64("[settings.host-containers]\nadmin = true\n"), "no [settings.kubernetes]"},
		{"an unterminated quote", b64("/etc/eks/bootstrap.sh c --kubelet-extra-args '--max-pods=5\n"), "not closed"},
		{"a reservation that is no quantity", b64(strings.Replace(al2023MIME, "cpu: 80m", "cpu: lots", 1)), "cpu reservation"},
		{"max pods that is no number", b64("/etc/eks/bootstrap.sh c --kubelet-extra-args '--max-pods=" + secret + "'\n"), "--max-pods: not a positive integer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseUserData(tc.userData)
			if err == nil {
				t.Fatal("unreadable user data was read")
			}
			if !strings.Contains(err.Error(), tc.wantReason) {
				t.Errorf("reason %q does not say %q", err, tc.wantReason)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("reason %q repeats the user data", err)
			}
		})
	}
}

// TestShellWords splits the command lines bootstrap calls are written in.
func TestShellWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`a b  c`, []string{"a", "b", "c"}},
		{`--x 'one two' "three \"four\""`, []string{"--x", "one two", `three "four"`}},
		{`--node-labels="a=b,c=d" --max-pods=5`, []string{"--node-labels=a=b,c=d", "--max-pods=5"}},
		{`a\ b c # comment`, []string{"a b", "c"}},
		{`cmd arg; other`, []string{"cmd", "arg"}},
		{`x''y`, []string{"xy"}},
	} {
		got, err := shellWords(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("shellWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestParseLauncherUserData: what the launcher writes for each AMI family
// (launcher/userdata) is what a simulated node reads back.
func TestParseLauncherUserData(t *testing.T) {
	maxPods := int32(58)
	cfg := userdata.Config{
		ClusterName: "my-cluster", ClusterEndpoint: "https://ABC.gr7.us-east-1.eks.amazonaws.com", ClusterCABundle: base64.StdEncoding.EncodeToString([]byte(secret)),
		ClusterCIDR: "10.100.0.0/16",
		Labels:      map[string]string{"karpenter.sh/nodepool": "default", "example.com/team": "a"},
		Taints: []corev1.Taint{
			{Key: "karpenter.sh/unregistered", Effect: corev1.TaintEffectNoExecute},
			{Key: "example.com/dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule},
		},
		Kubelet: &ec2v1.KubeletConfiguration{
			KubeReserved: map[string]ec2v1.Quantity{"cpu": "80m", "memory": "893Mi"},
			EvictionHard: map[string]ec2v1.Threshold{"memory.available": "5%"},
		},
		MaxPods: &maxPods,
	}
	for _, family := range []string{"AL2023", "AL2", "Bottlerocket", "Windows2022"} {
		t.Run(family, func(t *testing.T) {
			text, err := userdata.Render(family, cfg)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			got, err := parseUserData(b64(text))
			if err != nil {
				t.Fatalf("parseUserData: %v", err)
			}
			if got.ClusterName != "my-cluster" || !reflect.DeepEqual(got.Labels, cfg.Labels) || got.MaxPods == nil || *got.MaxPods != 58 {
				t.Errorf("cluster %q labels %v max pods %v", got.ClusterName, got.Labels, got.MaxPods)
			}
			if !sameTaints(got.Taints, cfg.Taints) {
				t.Errorf("taints %v, want %v", got.Taints, cfg.Taints)
			}
			if !equalResources(got.KubeReserved, quantities("cpu", "80m", "memory", "893Mi")) || got.EvictionHard["memory.available"] != "5%" {
				t.Errorf("kube-reserved %v eviction %v", got.KubeReserved, got.EvictionHard)
			}
		})
	}
}

// sameTaints compares taints as sets: a Bottlerocket TOML table has no order.
func sameTaints(a, b []corev1.Taint) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x.MatchTaint(&y) && x.Value == y.Value
		}
		if !found {
			return false
		}
	}
	return true
}
