package ec2sim

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// AMIRelease is a release of an AMI alias family that ReleaseAMIs (or the
// admin endpoint) published.
type AMIRelease struct {
	// Family is the alias family: al2023, al2, bottlerocket, windows2019,
	// windows2022 or windows2025.
	Family string `json:"family"`
	// Version is the release: v20260105 for al2023 and al2, 1.45.0 for
	// bottlerocket, 2026.01.05 for Windows.
	Version string `json:"version"`
	// Images are the AMIs published, one per Kubernetes version, variant
	// and architecture.
	Images []ReleasedImage `json:"images"`
}

// ReleasedImage is one AMI of a release and the SSM parameter that now
// names it as the latest.
type ReleasedImage struct {
	ID                string `json:"imageId"`
	Name              string `json:"name"`
	Arch              string `json:"architecture"`
	KubernetesVersion string `json:"kubernetesVersion"`
	Parameter         string `json:"parameter"`
}

// releaseFamilies are the families ReleaseAMIs publishes, as aliases name
// them.
var releaseFamilies = []string{"al2023", "al2", "bottlerocket", "windows2019", "windows2022", "windows2025"}

// ReleaseAMIs publishes a new release of an alias family, as EKS does when
// it ships new AMIs: for every Kubernetes version (AL2 up to its last), each
// variant and architecture, an AMI created now (simulated time), its pinned
// SSM parameter, and the recommended (or latest) parameter moved to it. An
// alias at "latest" resolves to the new AMIs from then on; one pinned to an
// older release does not change. An empty version is made from the
// simulated date (Bottlerocket: the next minor).
func (s *Simulator) ReleaseAMIs(family, version string) (AMIRelease, error) {
	if !slices.Contains(releaseFamilies, family) {
		return AMIRelease{}, fmt.Errorf("no AMI family %q: want one of %s", family, strings.Join(releaseFamilies, ", "))
	}
	now := s.clock.Now().UTC()
	w := s.world
	w.mu.Lock()
	defer w.mu.Unlock()
	if version == "" {
		version = w.nextReleaseLocked(family, now)
	}
	if err := validReleaseVersion(family, version); err != nil {
		return AMIRelease{}, err
	}
	r := amiRelease{version: version, created: now}
	var added []*image
	for _, v := range kubernetesVersions {
		if w.releasedLocked(family, v, version) {
			return AMIRelease{}, fmt.Errorf("release %s of %s is already published", version, family)
		}
		switch family {
		case "al2023":
			added = append(added, w.addAL2023(v, r)...)
		case "al2":
			if minorVersion(v) <= minorVersion(lastAL2Version) {
				added = append(added, w.addAL2(v, r)...)
			}
		case "bottlerocket":
			added = append(added, w.addBottlerocket(v, r)...)
		default:
			added = append(added, w.addWindows(v, strings.TrimPrefix(family, "windows"), r)...)
		}
	}
	out := AMIRelease{Family: family, Version: version}
	for _, img := range added {
		out.Images = append(out.Images, ReleasedImage{
			ID: img.ID, Name: img.Name, Arch: img.Arch, KubernetesVersion: img.KubernetesVersion, Parameter: w.latestParameterLocked(img.ID),
		})
	}
	s.log.Info("AMI release published", "family", family, "version", version, "images", len(out.Images))
	return out, nil
}

// validReleaseVersion checks that a version is spelt as the family's
// releases are, so that an alias pinned to it resolves.
func validReleaseVersion(family, version string) error {
	var ok bool
	switch family {
	case "al2023", "al2":
		_, err := time.Parse("v20060102", version)
		ok = err == nil
	case "bottlerocket":
		var a, b, c int
		n, _ := fmt.Sscanf(version, "%d.%d.%d", &a, &b, &c)
		ok = n == 3 && fmt.Sprintf("%d.%d.%d", a, b, c) == version
	default:
		_, err := time.Parse("2006.01.02", version)
		ok = err == nil
	}
	if !ok {
		return fmt.Errorf("release version %q of %s is not spelt as the family's are (v20250812, 1.44.0, 2025.08.13)", version, family)
	}
	return nil
}

// nextReleaseLocked names a release published now: the date for EKS and
// Windows AMIs, the minor after the newest published for Bottlerocket.
func (w *world) nextReleaseLocked(family string, now time.Time) string {
	switch family {
	case "al2023", "al2":
		return now.Format("v20060102")
	case "bottlerocket":
		minor := 0
		for _, img := range w.images {
			if img.OwnerID != bottlerocketAMIOwner {
				continue
			}
			var a, b, c int
			if _, after, ok := strings.Cut(img.Description, "-v"); ok {
				if n, _ := fmt.Sscanf(after, "%d.%d.%d", &a, &b, &c); n == 3 && b > minor {
					minor = b
				}
			}
		}
		return fmt.Sprintf("1.%d.0", minor+1)
	}
	return now.Format("2006.01.02")
}

// releasedLocked reports whether the family already has the release for
// the Kubernetes version.
func (w *world) releasedLocked(family, kubernetesVersion, version string) bool {
	for _, img := range w.images {
		if img.KubernetesVersion != kubernetesVersion {
			continue
		}
		var mine bool
		switch family {
		case "al2023":
			mine = strings.HasPrefix(img.Name, "amazon-eks-node-al2023-") && strings.HasSuffix(img.Name, "-"+version)
		case "al2":
			mine = img.OwnerID == eksAMIOwner && !strings.Contains(img.Name, "al2023") && strings.HasSuffix(img.Name, "-"+version)
		case "bottlerocket":
			mine = img.OwnerID == bottlerocketAMIOwner && strings.HasSuffix(img.Description, "-v"+version)
		default:
			server := strings.TrimPrefix(family, "windows")
			mine = img.Windows && strings.Contains(img.Name, "Windows_Server-"+server+"-") && strings.HasSuffix(img.Name, "-"+version)
		}
		if mine {
			return true
		}
	}
	return false
}

// latestParameterLocked is the recommended or latest SSM parameter that
// names an image, "" when none does.
func (w *world) latestParameterLocked(id string) string {
	var names []string
	for name, value := range w.ssmParameters {
		if value == id && (strings.HasSuffix(name, "/recommended/image_id") || strings.HasSuffix(name, "/latest/image_id") ||
			strings.HasPrefix(name, "/aws/service/ami-windows-latest/")) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return ""
	}
	return names[0]
}
