package hash

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

const poolYAML = `
apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: default
spec:
  template:
    metadata:
      labels: {team: platform, environment: production}
      annotations: {example.com/owner: platform}
    spec:
      requirements:
      - {key: topology.kubernetes.io/zone, operator: In, values: [us-east-1a, us-east-1b]}
      taints:
      - {key: dedicated, value: gpu, effect: NoSchedule}
      - {key: spot, effect: PreferNoSchedule}
      startupTaints:
      - {key: node.cilium.io/agent-not-ready, value: "true", effect: NoExecute}
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      terminationGracePeriod: 1h
      expireAfter: 72h
  limits: {cpu: "1000"}
  disruption:
    consolidateAfter: 1m
    budgets: [{nodes: "10%"}]
  weight: 50
`

func readPool(t *testing.T) *karpv1.NodePool {
	t.Helper()
	np := &karpv1.NodePool{}
	if err := yaml.UnmarshalStrict([]byte(poolYAML), np); err != nil {
		t.Fatal(err)
	}
	return np
}

// TestNodePool: a change to a static field of the template changes the
// hash; requirements, expiry and the pool's behaviour do not, nor does the
// order or spelling of what means the same node.
func TestNodePool(t *testing.T) {
	base := NodePool(readPool(t))
	tests := []struct {
		name    string
		edit    func(*karpv1.NodePool)
		changes bool
	}{
		{"a label added", func(np *karpv1.NodePool) { np.Spec.Template.ObjectMeta.Labels["tier"] = "web" }, true},
		{"a label's value", func(np *karpv1.NodePool) { np.Spec.Template.ObjectMeta.Labels["team"] = "data" }, true},
		{"an annotation removed", func(np *karpv1.NodePool) { np.Spec.Template.ObjectMeta.Annotations = nil }, true},
		{"a taint's effect", func(np *karpv1.NodePool) { np.Spec.Template.Spec.Taints[0].Effect = corev1.TaintEffectNoExecute }, true},
		{"a startup taint removed", func(np *karpv1.NodePool) { np.Spec.Template.Spec.StartupTaints = nil }, true},
		{"another node class", func(np *karpv1.NodePool) { np.Spec.Template.Spec.NodeClassRef.Name = "other" }, true},
		{"terminationGracePeriod", func(np *karpv1.NodePool) {
			np.Spec.Template.Spec.TerminationGracePeriod = &metav1.Duration{Duration: 2 * 3600e9}
		}, true},
		{"terminationGracePeriod spelt 60m", func(np *karpv1.NodePool) {
			np.Spec.Template.Spec.TerminationGracePeriod = &metav1.Duration{Duration: 60 * 60e9}
		}, false},
		{"requirements", func(np *karpv1.NodePool) {
			np.Spec.Template.Spec.Requirements[0].Values = []string{"us-east-1a"}
		}, false},
		{"expireAfter", func(np *karpv1.NodePool) {
			np.Spec.Template.Spec.ExpireAfter = karpv1.MustParseNillableDuration("Never")
		}, false},
		{"limits, disruption, weight", func(np *karpv1.NodePool) {
			np.Spec.Limits = nil
			np.Spec.Disruption.Budgets = []karpv1.Budget{{Nodes: "0"}}
			np.Spec.Weight = ptr.To[int32](1)
		}, false},
		{"taints reordered", func(np *karpv1.NodePool) {
			ts := np.Spec.Template.Spec.Taints
			ts[0], ts[1] = ts[1], ts[0]
		}, false},
		{"the time a taint was added", func(np *karpv1.NodePool) {
			np.Spec.Template.Spec.Taints[0].TimeAdded = &metav1.Time{}
		}, false},
		{"the pool's own labels and status", func(np *karpv1.NodePool) {
			np.Labels = map[string]string{"x": "y"}
			np.Status.Nodes = 3
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			np := readPool(t)
			tc.edit(np)
			if got := NodePool(np); (got != base) != tc.changes {
				t.Errorf("hash %s, before %s; want a change: %v", got, base, tc.changes)
			}
		})
	}
}

// TestNodePoolEmpty: empty and absent maps and lists are the same template.
func TestNodePoolEmpty(t *testing.T) {
	a := &karpv1.NodePool{}
	b := &karpv1.NodePool{Spec: karpv1.NodePoolSpec{Template: karpv1.NodeClaimTemplate{
		ObjectMeta: karpv1.ObjectMeta{Labels: map[string]string{}, Annotations: map[string]string{}},
		Spec:       karpv1.NodeClaimTemplateSpec{Taints: []corev1.Taint{}},
	}}}
	if NodePool(a) != NodePool(b) {
		t.Errorf("empty %s != absent %s", NodePool(b), NodePool(a))
	}
}

const classYAML = `
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: default
spec:
  amiSelectorTerms: [{alias: al2023@latest}]
  role: KarpenterNodeRole-my-cluster
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: my-cluster}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: my-cluster}}]
  blockDeviceMappings:
  - deviceName: /dev/xvda
    ebs: {volumeSize: 100Gi, volumeType: gp3, encrypted: true}
  - deviceName: /dev/xvdb
    ebs: {volumeSize: 20Gi, volumeType: gp3}
  metadataOptions: {httpEndpoint: enabled, httpProtocolIPv6: disabled, httpPutResponseHopLimit: 2, httpTokens: required}
  tags: {Team: platform}
  kubelet: {maxPods: 110, systemReserved: {cpu: 100m}}
  userData: |
    #!/bin/bash
    echo hello
`

func readClass(t *testing.T) *ec2v1.EC2NodeClass {
	t.Helper()
	nc := &ec2v1.EC2NodeClass{}
	if err := yaml.UnmarshalStrict([]byte(classYAML), nc); err != nil {
		t.Fatal(err)
	}
	return nc
}

// TestEC2NodeClass: a change to a static field changes the hash; selector
// terms, whose drift is judged by what they resolve to, do not.
func TestEC2NodeClass(t *testing.T) {
	base := EC2NodeClass(readClass(t))
	tests := []struct {
		name    string
		edit    func(*ec2v1.EC2NodeClass)
		changes bool
	}{
		{"user data", func(nc *ec2v1.EC2NodeClass) { nc.Spec.UserData = ptr.To("#!/bin/bash\necho bye\n") }, true},
		{"a tag", func(nc *ec2v1.EC2NodeClass) { nc.Spec.Tags["CostCenter"] = "42" }, true},
		{"role", func(nc *ec2v1.EC2NodeClass) { nc.Spec.Role = "OtherRole" }, true},
		{"instance profile instead of role", func(nc *ec2v1.EC2NodeClass) {
			nc.Spec.Role, nc.Spec.InstanceProfile = "", ptr.To("KarpenterNodeRole-my-cluster")
		}, true},
		{"a volume's size", func(nc *ec2v1.EC2NodeClass) {
			nc.Spec.BlockDeviceMappings[0].EBS.VolumeSize = ptr.To(resource.MustParse("200Gi"))
		}, true},
		{"the hop limit", func(nc *ec2v1.EC2NodeClass) { nc.Spec.MetadataOptions.HTTPPutResponseHopLimit = ptr.To[int64](1) }, true},
		{"kubelet maxPods", func(nc *ec2v1.EC2NodeClass) { nc.Spec.Kubelet.MaxPods = ptr.To[int32](58) }, true},
		{"detailed monitoring on", func(nc *ec2v1.EC2NodeClass) { nc.Spec.DetailedMonitoring = ptr.To(true) }, true},
		{"public IP address refused", func(nc *ec2v1.EC2NodeClass) { nc.Spec.AssociatePublicIPAddress = ptr.To(false) }, true},
		{"instance store RAID0", func(nc *ec2v1.EC2NodeClass) {
			nc.Spec.InstanceStorePolicy = ptr.To(ec2v1.InstanceStorePolicyRAID0)
		}, true},
		{"another AMI family", func(nc *ec2v1.EC2NodeClass) {
			nc.Spec.AMISelectorTerms = []ec2v1.AMISelectorTerm{{Alias: "bottlerocket@latest"}}
		}, true},
		{"the family the alias implies, written down", func(nc *ec2v1.EC2NodeClass) { nc.Spec.AMIFamily = ptr.To(ec2v1.AMIFamilyAL2023) }, false},
		{"a pinned AMI version", func(nc *ec2v1.EC2NodeClass) {
			nc.Spec.AMISelectorTerms = []ec2v1.AMISelectorTerm{{Alias: "al2023@v20250715"}}
		}, false},
		{"subnet and security group selectors", func(nc *ec2v1.EC2NodeClass) {
			nc.Spec.SubnetSelectorTerms = []ec2v1.SubnetSelectorTerm{{ID: "subnet-0abc"}}
			nc.Spec.SecurityGroupSelectorTerms = []ec2v1.SecurityGroupSelectorTerm{{Name: "default"}}
		}, false},
		{"detailed monitoring off, written down", func(nc *ec2v1.EC2NodeClass) { nc.Spec.DetailedMonitoring = ptr.To(false) }, false},
		{"block devices reordered", func(nc *ec2v1.EC2NodeClass) {
			m := nc.Spec.BlockDeviceMappings
			m[0], m[1] = m[1], m[0]
		}, false},
		{"a volume size spelt in Mi", func(nc *ec2v1.EC2NodeClass) {
			nc.Spec.BlockDeviceMappings[0].EBS.VolumeSize = ptr.To(resource.MustParse("102400Mi"))
		}, false},
		{"the class's status", func(nc *ec2v1.EC2NodeClass) { nc.Status.AMIs = []ec2v1.AMI{{ID: "ami-1"}} }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nc := readClass(t)
			tc.edit(nc)
			if got := EC2NodeClass(nc); (got != base) != tc.changes {
				t.Errorf("hash %s, before %s; want a change: %v", got, base, tc.changes)
			}
		})
	}
}

// TestEC2NodeClassEmptyKubelet: a kubelet block that sets nothing is no
// kubelet block.
func TestEC2NodeClassEmptyKubelet(t *testing.T) {
	a, b := readClass(t), readClass(t)
	a.Spec.Kubelet, b.Spec.Kubelet = nil, &ec2v1.KubeletConfiguration{}
	if EC2NodeClass(a) != EC2NodeClass(b) {
		t.Errorf("empty kubelet %s != none %s", EC2NodeClass(b), EC2NodeClass(a))
	}
}

// TestStable: the hash of the same object is the same in every process.
// The values are fixed on purpose: if this fails, the canonical form
// changed, and NodePoolVersion or EC2NodeClassVersion must be bumped with
// the new values, or every node of every cluster drifts on upgrade.
func TestStable(t *testing.T) {
	const stablePoolHash, stableClassHash = "1650273156740918274", "18362680574155556592"
	if got, want := NodePool(readPool(t)), stablePoolHash; got != want {
		t.Errorf("NodePool hash %s, want %s (version %s)", got, want, NodePoolVersion)
	}
	if got, want := EC2NodeClass(readClass(t)), stableClassHash; got != want {
		t.Errorf("EC2NodeClass hash %s, want %s (version %s)", got, want, EC2NodeClassVersion)
	}
}
