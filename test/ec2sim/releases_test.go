package ec2sim

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// TestReleaseAMIs: a release published over the admin endpoint moves the
// recommended parameter of every Kubernetes version and architecture to a
// new AMI that EC2 describes, adds a pinned parameter for it, and leaves
// the pinned parameters of older releases where they were.
func TestReleaseAMIs(t *testing.T) {
	s := startSim(t, Options{})
	params := ssm.NewFromConfig(sdkConfig(s))
	images := ec2Client(s)
	ctx := context.Background()
	get := func(name string) string {
		t.Helper()
		out, err := params.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
		if err != nil {
			t.Fatalf("GetParameter %s: %v", name, err)
		}
		return aws.ToString(out.Parameter.Value)
	}
	const (
		latest = "/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/arm64/standard/recommended/image_id"
		older  = "/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/arm64/standard/amazon-eks-node-al2023-arm64-standard-1.34-v20250812/image_id"
		pinned = "/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/arm64/standard/amazon-eks-node-al2023-arm64-standard-1.34-v20260105/image_id"
	)
	before, olderBefore := get(latest), get(older)
	if before != olderBefore {
		t.Fatalf("before the release, %s names %s, not the newest release %s", latest, before, olderBefore)
	}

	var release AMIRelease
	if code := admin(t, s, http.MethodPost, "/_sim/amis/releases", `{"family":"al2023","version":"v20260105"}`, &release); code != http.StatusCreated {
		t.Fatalf("POST /_sim/amis/releases: %d %+v", code, release)
	}
	// Seven Kubernetes versions, five variants each.
	if release.Family != "al2023" || release.Version != "v20260105" || len(release.Images) != 7*5 {
		t.Fatalf("release %s %s with %d images, want al2023 v20260105 with 35", release.Family, release.Version, len(release.Images))
	}
	after := get(latest)
	if after == before {
		t.Fatalf("%s still names %s after the release", latest, before)
	}
	if got := get(pinned); got != after {
		t.Errorf("the release's pinned parameter names %s, the recommended one %s", got, after)
	}
	if got := get(older); got != olderBefore {
		t.Errorf("the older release's pinned parameter moved from %s to %s", olderBefore, got)
	}
	var listed bool
	for _, img := range release.Images {
		if img.ID == after {
			listed = img.Parameter == latest && img.Arch == "arm64" && img.KubernetesVersion == "1.34"
		}
	}
	if !listed {
		t.Errorf("the release does not list %s as the image of %s: %+v", after, latest, release.Images)
	}
	out, err := images.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{after}})
	if err != nil {
		t.Fatalf("DescribeImages %s: %v", after, err)
	}
	img := out.Images[0]
	if string(img.Architecture) != "arm64" || !strings.HasSuffix(aws.ToString(img.Name), "-1.34-v20260105") ||
		aws.ToString(img.CreationDate) <= "2025-08-12" {
		t.Errorf("the new AMI is %s %s created %s", img.Architecture, aws.ToString(img.Name), aws.ToString(img.CreationDate))
	}

	var errBody map[string]string
	if code := admin(t, s, http.MethodPost, "/_sim/amis/releases", `{"family":"al2023","version":"v20260105"}`, &errBody); code != http.StatusBadRequest || errBody["error"] == "" {
		t.Errorf("publishing the same release again: %d %v", code, errBody)
	}
	if code := admin(t, s, http.MethodPost, "/_sim/amis/releases", `{"family":"ubuntu"}`, &errBody); code != http.StatusBadRequest {
		t.Errorf("an unknown family: %d %v", code, errBody)
	}
	if code := admin(t, s, http.MethodPost, "/_sim/amis/releases", `{"family":"al2023","version":"1.2.3"}`, &errBody); code != http.StatusBadRequest {
		t.Errorf("a version spelt as another family's: %d %v", code, errBody)
	}
}

// TestReleaseAMIsOtherFamilies: every family publishes, with versions made
// up when none is given; AL2 stops at its last Kubernetes version and a
// Windows release is one server's.
func TestReleaseAMIsOtherFamilies(t *testing.T) {
	s := startSim(t, Options{})
	for _, tc := range []struct {
		family      string
		images      int
		version     string
		latestParam string
	}{
		{"al2", 5 * 3, "", "/aws/service/eks/optimized-ami/1.32/amazon-linux-2-arm64/recommended/image_id"},
		{"bottlerocket", 7 * 4, "1.45.0", "/aws/service/bottlerocket/aws-k8s-1.34-nvidia/arm64/latest/image_id"},
		{"windows2022", 7, "", "/aws/service/ami-windows-latest/Windows_Server-2022-English-Core-EKS_Optimized-1.34/image_id"},
	} {
		t.Run(tc.family, func(t *testing.T) {
			release, err := s.ReleaseAMIs(tc.family, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(release.Images) != tc.images || tc.version != "" && release.Version != tc.version {
				t.Errorf("release %s with %d images, want %d images (version %q)", release.Version, len(release.Images), tc.images, tc.version)
			}
			s.world.mu.Lock()
			id := s.world.ssmParameters[tc.latestParam]
			s.world.mu.Unlock()
			found := false
			for _, img := range release.Images {
				found = found || img.ID == id
			}
			if !found {
				t.Errorf("%s names %s, not an image of the release", tc.latestParam, id)
			}
		})
	}
}
