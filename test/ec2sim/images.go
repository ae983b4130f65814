package ec2sim

import (
	"fmt"
	"hash/fnv"
	"time"
)

// The EKS-optimized AMIs the simulated region publishes: every Kubernetes
// version EKS supports in standard or extended support, two releases of each
// (the older is what a pinned alias such as al2023@v20250715 selects), for
// each family, variant and architecture. AL2 stops at 1.32, as EKS did.
var (
	kubernetesVersions = []string{"1.28", "1.29", "1.30", "1.31", "1.32", "1.33", "1.34"}
	lastAL2Version     = "1.32"

	eksReleases          = []amiRelease{{"v20250715", date(2025, 7, 15)}, {"v20250812", date(2025, 8, 12)}}
	bottlerocketReleases = []amiRelease{{"1.43.0", date(2025, 7, 10)}, {"1.44.0", date(2025, 8, 7)}}
	windowsReleases      = []amiRelease{{"2025.07.16", date(2025, 7, 16)}, {"2025.08.13", date(2025, 8, 13)}}
)

// Owners of the public AMIs.
const (
	eksAMIOwner          = "602401143452"
	bottlerocketAMIOwner = "092701018921"
	windowsAMIOwner      = "801119661308"
)

type amiRelease struct {
	version string
	created time.Time
}

// minorVersion returns the minor of a Kubernetes version "1.31".
func minorVersion(v string) int {
	var major, minor int
	_, _ = fmt.Sscanf(v, "%d.%d", &major, &minor)
	return minor
}

func date(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// image is an AMI.
type image struct {
	ID          string
	Name        string
	Description string
	// Arch is EC2's architecture name: x86_64 or arm64.
	Arch string
	// Windows images boot Windows nodes; the rest Linux.
	Windows           bool
	KubernetesVersion string
	OwnerID           string
	Created           time.Time
	RootDevice        string
	// DataDevice holds containers and kubelet's state when it is not the
	// root device (Bottlerocket).
	DataDevice string
	Tags       map[string]string
	// NVIDIA and Neuron say the image ships the driver of NVIDIA GPUs or of
	// AWS Inferentia and Trainium: without it a node has the devices but
	// its device plugin finds none, and it advertises no nvidia.com/gpu or
	// aws.amazon.com/neuron.
	NVIDIA, Neuron bool
}

// kubernetesArch is the kubernetes.io/arch of the image's nodes.
func (i *image) kubernetesArch() string {
	if i.Arch == "arm64" {
		return "arm64"
	}
	return "amd64"
}

// stableID derives a resource id from a name, so that the seeded world has
// the same ids in every run: a demo's notes and a launcher's cache stay valid
// across restarts of the simulator.
func stableID(prefix, name string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return fmt.Sprintf("%s-0%016x", prefix, h.Sum64())
}

// seedImages publishes the AMIs and the SSM parameters that name them.
func (w *world) seedImages() {
	for _, v := range kubernetesVersions {
		w.seedAL2023(v)
		if minorVersion(v) <= minorVersion(lastAL2Version) {
			w.seedAL2(v)
		}
		w.seedBottlerocket(v)
		w.seedWindows(v)
	}
}

// addImage registers an AMI under its recommended (latest) and pinned SSM
// parameters; releases are seeded oldest first, so the last one wins the
// recommended name.
func (w *world) addImage(img *image, recommended string, pinned ...string) {
	img.ID = stableID("ami", img.Name)
	if img.Tags == nil {
		img.Tags = map[string]string{}
	}
	w.images = append(w.images, img)
	w.ssmParameters[recommended] = img.ID
	for _, p := range pinned {
		w.ssmParameters[p] = img.ID
	}
}

func (w *world) seedAL2023(v string) {
	for _, r := range eksReleases {
		w.addAL2023(v, r)
	}
}

// addAL2023 publishes one AL2023 release for a Kubernetes version: every
// variant and architecture, each the new recommended image.
func (w *world) addAL2023(v string, r amiRelease) []*image {
	variants := []struct{ arch, variant string }{
		{"x86_64", "standard"}, {"arm64", "standard"},
		{"x86_64", "nvidia"}, {"arm64", "nvidia"}, {"x86_64", "neuron"},
	}
	var out []*image
	for _, av := range variants {
		name := fmt.Sprintf("amazon-eks-node-al2023-%s-%s-%s-%s", av.arch, av.variant, v, r.version)
		base := fmt.Sprintf("/aws/service/eks/optimized-ami/%s/amazon-linux-2023/%s/%s/", v, av.arch, av.variant)
		img := &image{
			Name: name, Arch: av.arch, KubernetesVersion: v, OwnerID: eksAMIOwner, Created: r.created,
			Description: fmt.Sprintf("EKS-optimized Kubernetes node based on Amazon Linux 2023, (k8s: %s, variant: %s)", v, av.variant),
			RootDevice:  "/dev/xvda",
			NVIDIA:      av.variant == "nvidia", Neuron: av.variant == "neuron",
		}
		w.addImage(img, base+"recommended/image_id", base+name+"/image_id")
		out = append(out, img)
	}
	return out
}

func (w *world) seedAL2(v string) {
	for _, r := range eksReleases {
		w.addAL2(v, r)
	}
}

// addAL2 publishes one AL2 release for a Kubernetes version.
func (w *world) addAL2(v string, r amiRelease) []*image {
	variants := []struct{ arch, path, prefix string }{
		{"x86_64", "amazon-linux-2", "amazon-eks-node"},
		{"arm64", "amazon-linux-2-arm64", "amazon-eks-arm64-node"},
		{"x86_64", "amazon-linux-2-gpu", "amazon-eks-gpu-node"},
	}
	var out []*image
	for _, av := range variants {
		name := fmt.Sprintf("%s-%s-%s", av.prefix, v, r.version)
		base := fmt.Sprintf("/aws/service/eks/optimized-ami/%s/%s/", v, av.path)
		img := &image{
			Name: name, Arch: av.arch, KubernetesVersion: v, OwnerID: eksAMIOwner, Created: r.created,
			Description: fmt.Sprintf("EKS Kubernetes Worker AMI with AmazonLinux2 image, (k8s: %s)", v),
			RootDevice:  "/dev/xvda",
			// AL2's one accelerated image carries both drivers.
			NVIDIA: av.path == "amazon-linux-2-gpu", Neuron: av.path == "amazon-linux-2-gpu",
		}
		w.addImage(img, base+"recommended/image_id", base+name+"/image_id")
		out = append(out, img)
	}
	return out
}

func (w *world) seedBottlerocket(v string) {
	for _, r := range bottlerocketReleases {
		w.addBottlerocket(v, r)
	}
}

// addBottlerocket publishes one Bottlerocket release for a Kubernetes
// version.
func (w *world) addBottlerocket(v string, r amiRelease) []*image {
	var out []*image
	for _, variant := range []string{"", "-nvidia"} {
		for _, arch := range []string{"x86_64", "arm64"} {
			name := fmt.Sprintf("bottlerocket-aws-k8s-%s%s-%s-v%s-%s", v, variant, arch, r.version, stableID("", v+variant+arch+r.version)[2:10])
			base := fmt.Sprintf("/aws/service/bottlerocket/aws-k8s-%s%s/%s/", v, variant, arch)
			img := &image{
				Name: name, Arch: arch, KubernetesVersion: v, OwnerID: bottlerocketAMIOwner, Created: r.created,
				Description: fmt.Sprintf("bottlerocket-aws-k8s-%s%s-%s-v%s", v, variant, arch, r.version),
				RootDevice:  "/dev/xvda", DataDevice: "/dev/xvdb",
				// The standard x86_64 build ships the Neuron driver.
				NVIDIA: variant == "-nvidia", Neuron: variant == "" && arch == "x86_64",
			}
			w.addImage(img, base+"latest/image_id", base+r.version+"/image_id")
			out = append(out, img)
		}
	}
	return out
}

func (w *world) seedWindows(v string) {
	for _, r := range windowsReleases {
		for _, server := range windowsServers {
			w.addWindows(v, server, r)
		}
	}
}

// windowsServers are the Windows Server versions EKS publishes AMIs of.
var windowsServers = []string{"2019", "2022", "2025"}

// addWindows publishes one Windows release of a server version for a
// Kubernetes version.
func (w *world) addWindows(v, server string, r amiRelease) []*image {
	family := fmt.Sprintf("Windows_Server-%s-English-Core-EKS_Optimized-%s", server, v)
	img := &image{
		Name: family + "-" + r.version, Arch: "x86_64", Windows: true, KubernetesVersion: v,
		OwnerID: windowsAMIOwner, Created: r.created,
		Description: fmt.Sprintf("Microsoft Windows Server %s Core optimized for EKS and provided by Amazon", server),
		RootDevice:  "/dev/sda1",
	}
	w.addImage(img, "/aws/service/ami-windows-latest/"+family+"/image_id")
	return []*image{img}
}
