package main

import (
	"fmt"
	"sort"
	"strings"
)

// ebsAttachments is one entry of ebs-attachments.json: EbsInfo's fields as
// DescribeInstanceTypes names them.
type ebsAttachments struct {
	MaximumEBSAttachments int32  `json:"maximumEbsAttachments"`
	AttachmentLimitType   string `json:"attachmentLimitType"`
}

// EBSAttachments mirrors catalog.EBSAttachments; render names the type in the
// generated literal, so the two must keep the same name.
type EBSAttachments struct {
	MaxAttachments int32
	Dedicated      bool
}

func readEBSAttachments(path string) (map[string]ebsAttachments, error) {
	var limits map[string]ebsAttachments
	if err := decodeStrict(path, &limits); err != nil {
		return nil, err
	}
	return limits, nil
}

// setEBSAttachments requires every type to have a limit, and every limit to
// name a known type, so that the two files cannot drift apart unnoticed.
func setEBSAttachments(t *table, limits map[string]ebsAttachments) error {
	known := make(map[string]bool, len(t.Types))
	for i := range t.Types {
		in := &t.Types[i].Info
		known[in.Name] = true
		l, ok := limits[in.Name]
		if !ok {
			return fmt.Errorf("instance type %s has no EBS attachment limit", in.Name)
		}
		if l.MaximumEBSAttachments < 1 {
			return fmt.Errorf("instance type %s: EBS attachment limit %d is not positive", in.Name, l.MaximumEBSAttachments)
		}
		switch l.AttachmentLimitType {
		case "shared", "dedicated":
		default:
			return fmt.Errorf("instance type %s: EBS attachment limit type %q is neither shared nor dedicated", in.Name, l.AttachmentLimitType)
		}
		in.EBS = EBSAttachments{MaxAttachments: l.MaximumEBSAttachments, Dedicated: l.AttachmentLimitType == "dedicated"}
	}
	var unknown []string
	for name := range limits {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("EBS attachment limits for types the facts do not describe: %s", strings.Join(unknown, ", "))
	}
	return nil
}
