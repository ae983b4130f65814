package userdata

import (
	"errors"
	"strings"
)

// The tags that delimit a PowerShell script in EC2 Windows user data.
const (
	powershellOpen  = "<powershell>"
	powershellClose = "</powershell>"
)

// renderWindows writes one PowerShell script: the user's, then the EKS
// Windows AMI's bootstrap script with the cluster and kubelet flags.
func renderWindows(cfg Config) (string, error) {
	custom, err := windowsScript(cfg.Custom)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(powershellOpen + "\n")
	if custom != "" {
		b.WriteString(custom + "\n")
	}
	b.WriteString(`[string]$EKSBootstrapScriptFile = "$env:ProgramFiles\Amazon\EKS\Start-EKSBootstrap.ps1"` + "\n")
	b.WriteString("& $EKSBootstrapScriptFile -EKSClusterName " + powershellQuote(cfg.ClusterName))
	b.WriteString(" -APIServerEndpoint " + powershellQuote(cfg.ClusterEndpoint))
	b.WriteString(" -Base64ClusterCA " + powershellQuote(cfg.ClusterCABundle))
	if args := cfg.kubeletArgs(); len(args) > 0 {
		b.WriteString(" -KubeletExtraArgs " + powershellQuote(strings.Join(args, " ")))
	}
	if cfg.Kubelet != nil && len(cfg.Kubelet.ClusterDNS) > 0 {
		b.WriteString(" -DNSClusterIP " + powershellQuote(cfg.Kubelet.ClusterDNS[0]))
	}
	b.WriteString("\n" + powershellClose + "\n")
	return b.String(), nil
}

// windowsScript returns the PowerShell a node class brings, without the
// <powershell> tags it may be wrapped in; Tailor's script goes in the same
// block after it.
func windowsScript(custom string) (string, error) {
	s := strings.TrimSpace(custom)
	if s == "" {
		return "", nil
	}
	if inner, ok := strings.CutPrefix(s, powershellOpen); ok {
		inner, ok = strings.CutSuffix(inner, powershellClose)
		if !ok {
			return "", errors.New("it opens a <powershell> block it does not close at its end")
		}
		s = strings.TrimSpace(inner)
	}
	if strings.Contains(s, powershellOpen) || strings.Contains(s, powershellClose) {
		return "", errors.New("it holds more than one <powershell> block; give the PowerShell to run, in one block or none")
	}
	return s, nil
}

// powershellQuote quotes s as a PowerShell literal string.
func powershellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
