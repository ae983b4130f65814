package ec2sim

import (
	"errors"
	"fmt"
	"strings"
)

// readBootstrapSh reads the call of the AL2 bootstrap script:
//
//	/etc/eks/bootstrap.sh <cluster> [--flag value]... --kubelet-extra-args '<kubelet flags>'
func (c *bootConfig) readBootstrapSh(script string) error {
	c.Format = formatBootstrapSh
	script = strings.ReplaceAll(script, "\\\r\n", " ")
	script = strings.ReplaceAll(script, "\\\n", " ")
	var line string
	for _, l := range strings.Split(script, "\n") {
		if i := strings.Index(l, "/etc/eks/bootstrap.sh"); i >= 0 && !strings.HasPrefix(strings.TrimSpace(l), "#") {
			line = l[i:]
			break
		}
	}
	if line == "" {
		return errors.New("its script never calls /etc/eks/bootstrap.sh")
	}
	words, err := shellWords(line)
	if err != nil {
		return fmt.Errorf("its bootstrap.sh call: %w", err)
	}
	useMaxPods := true
	var extra string
	for i := 1; i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w, "--") {
			if c.ClusterName == "" {
				c.ClusterName = w
			}
			continue
		}
		name, value, inline := strings.Cut(w, "=")
		if !inline {
			if i+1 >= len(words) {
				return fmt.Errorf("bootstrap.sh flag %s has no value", name)
			}
			i++
			value = words[i]
		}
		switch name {
		case "--kubelet-extra-args":
			extra = value
		case "--use-max-pods":
			useMaxPods = value != "false"
		case "--local-disks":
			if value != "raid0" && value != "raid10" && value != "mount" {
				return fmt.Errorf("bootstrap.sh --local-disks %q is none of raid0, raid10 and mount", value)
			}
			c.RAID0 = value == "raid0"
		}
	}
	args, err := shellWords(extra)
	if err != nil {
		return fmt.Errorf("--kubelet-extra-args: %w", err)
	}
	if err := c.applyKubeletFlags(args, "--kubelet-extra-args"); err != nil {
		return err
	}
	if !useMaxPods && c.MaxPods == nil {
		n := int64(kubeletDefaultMaxPods)
		c.MaxPods = &n
	}
	return nil
}

// readWindows reads the EKS Windows bootstrap call:
//
//	& $EKSBootstrapScriptFile -EKSClusterName '<cluster>' -KubeletExtraArgs '<kubelet flags>' ...
func (c *bootConfig) readWindows(script string) error {
	c.Format = formatWindows
	var line string
	for _, l := range strings.Split(script, "\n") {
		if strings.Contains(l, "-EKSClusterName") || strings.Contains(l, "-KubeletExtraArgs") {
			line = l
			break
		}
	}
	if line == "" {
		return errors.New("its PowerShell never calls the EKS bootstrap script with -EKSClusterName")
	}
	words, err := shellWords(line)
	if err != nil {
		return fmt.Errorf("its EKS bootstrap call: %w", err)
	}
	for i := 0; i+1 < len(words); i++ {
		switch words[i] {
		case "-EKSClusterName":
			c.ClusterName = words[i+1]
		case "-KubeletExtraArgs":
			args, err := shellWords(words[i+1])
			if err != nil {
				return fmt.Errorf("-KubeletExtraArgs: %w", err)
			}
			if err := c.applyKubeletFlags(args, "-KubeletExtraArgs"); err != nil {
				return err
			}
		}
	}
	return nil
}

// shellWords splits a command line as a POSIX shell does for the quoting
// bootstrap calls use: single quotes, double quotes with backslash escapes,
// and backslash escapes. It stops at an unquoted # or ; and fails on an
// unterminated quote.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("a single quote is not closed")
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case ch == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("a double quote is not closed")
			}
			inWord = true
		case ch == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			flush()
		case (ch == '#' && !inWord) || ch == ';':
			flush()
			return words, nil
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	flush()
	return words, nil
}
