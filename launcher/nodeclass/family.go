package nodeclass

import (
	"fmt"
	"strings"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
)

// aliasFamilies maps the family part of an AMI alias to the AMI family.
var aliasFamilies = map[string]string{
	"al2":          ec2v1.AMIFamilyAL2,
	"al2023":       ec2v1.AMIFamilyAL2023,
	"bottlerocket": ec2v1.AMIFamilyBottlerocket,
	"windows2019":  ec2v1.AMIFamilyWindows2019,
	"windows2022":  ec2v1.AMIFamilyWindows2022,
	"windows2025":  ec2v1.AMIFamilyWindows2025,
}

// alias is a parsed AMI alias, family@version.
type alias struct {
	family string
	// version is "latest" or a release such as v20250715 or v1.44.0.
	version string
}

// parseAlias reads family@version.
func parseAlias(s string) (alias, error) {
	name, version, ok := strings.Cut(s, "@")
	if !ok || version == "" {
		return alias{}, fmt.Errorf("alias %q is not family@version", s)
	}
	family, ok := aliasFamilies[name]
	if !ok {
		return alias{}, fmt.Errorf("alias %q names no AMI family Tailor knows (al2, al2023, bottlerocket, windows2019, windows2022, windows2025)", s)
	}
	return alias{family: family, version: version}, nil
}

// Family returns the AMI family of a class, which decides the format of
// its user data: spec.amiFamily, else the family of its alias.
func Family(nc *ec2v1.EC2NodeClass) (string, error) {
	if nc.Spec.AMIFamily != nil {
		return *nc.Spec.AMIFamily, nil
	}
	for _, term := range nc.Spec.AMISelectorTerms {
		if term.Alias != "" {
			a, err := parseAlias(term.Alias)
			if err != nil {
				return "", err
			}
			return a.family, nil
		}
	}
	return "", fmt.Errorf("EC2NodeClass %s names no amiFamily and no alias", nc.Name)
}
