package userdata

import (
	"errors"
	"strings"
)

// renderAL2 writes the user's parts, then a shell script that runs the EKS
// AMI's bootstrap.sh with the cluster and kubelet flags. cloud-init runs
// the parts in order, so the user's scripts have run when the node joins.
func renderAL2(cfg Config) (string, error) {
	parts, err := al2Parts(cfg.Custom)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("#!/bin/bash -xe\n")
	b.WriteString("exec > >(tee /var/log/user-data.log|logger -t user-data -s 2>/dev/console) 2>&1\n")
	b.WriteString("/etc/eks/bootstrap.sh " + shellQuote(cfg.ClusterName))
	b.WriteString(" --apiserver-endpoint " + shellQuote(cfg.ClusterEndpoint))
	b.WriteString(" --b64-cluster-ca " + shellQuote(cfg.ClusterCABundle))
	if cfg.Kubelet != nil && len(cfg.Kubelet.ClusterDNS) > 0 {
		b.WriteString(" \\\n--dns-cluster-ip " + shellQuote(cfg.Kubelet.ClusterDNS[0]))
	}
	if cfg.RAID0 {
		// bootstrap.sh's setup-local-disks makes the array and mounts it
		// over kubelet's and containerd's directories.
		b.WriteString(" \\\n--local-disks raid0")
	}
	if cfg.maxPods() != nil {
		// bootstrap.sh would otherwise write its own --max-pods for the
		// instance type after ours.
		b.WriteString(" \\\n--use-max-pods false")
	}
	if args := cfg.kubeletArgs(); len(args) > 0 {
		b.WriteString(" \\\n--kubelet-extra-args " + shellQuote(strings.Join(args, " ")))
	}
	b.WriteString("\n")
	return writeMultipart(append(parts, part{contentType: contentTypeShellScript, body: b.String()}))
}

// al2Parts reads the user data of an AL2 node class as MIME parts: a MIME
// multipart document as it is, and otherwise a single shell script or
// cloud-config. Other text would reach cloud-init as a script it cannot run.
func al2Parts(custom string) ([]part, error) {
	if strings.TrimSpace(custom) == "" {
		return nil, nil
	}
	if isMIME(custom) {
		return parseMultipart(custom)
	}
	if p, ok := scriptPart(custom); ok {
		return []part{p}, nil
	}
	return nil, errors.New("it is not a MIME multipart document, a shell script (#!) or a cloud-config")
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
