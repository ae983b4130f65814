package userdata

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"
)

// MIME content types of the parts cloud-init and nodeadm read.
const (
	contentTypeNodeConfig  = "application/node.eks.aws"
	contentTypeShellScript = `text/x-shellscript; charset="us-ascii"`
	contentTypeCloudConfig = "text/cloud-config"
)

// boundary separates the parts of the documents Tailor writes; the same one
// Karpenter writes.
const boundary = "//"

// part is one part of a MIME multipart document.
type part struct {
	contentType string
	body        string
}

// isMIME reports whether user data presents itself as a MIME document, which
// then has to parse as one.
func isMIME(s string) bool {
	head := strings.ToLower(strings.TrimLeft(s, " \t\r\n"))
	return strings.HasPrefix(head, "mime-version:") || strings.HasPrefix(head, "content-type:")
}

// parseMultipart reads a MIME multipart document into its parts.
func parseMultipart(s string) ([]part, error) {
	r := textproto.NewReader(bufio.NewReader(strings.NewReader(strings.TrimLeft(s, " \t\r\n"))))
	header, err := r.ReadMIMEHeader()
	if err != nil {
		return nil, redact("its MIME header is malformed", err)
	}
	mediaType, params, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil {
		return nil, errors.New("its MIME Content-Type is malformed")
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		return nil, fmt.Errorf("the MIME document is %s, not multipart", mediaType)
	}
	if params["boundary"] == "" {
		return nil, errors.New("the MIME Content-Type names no boundary")
	}
	mr := multipart.NewReader(r.R, params["boundary"])
	var parts []part
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, redact(fmt.Sprintf("MIME part %d is malformed", len(parts)+1), err)
		}
		body, err := io.ReadAll(p)
		if err != nil {
			return nil, redact(fmt.Sprintf("MIME part %d is malformed", len(parts)+1), err)
		}
		contentType := p.Header.Get("Content-Type")
		if contentType == "" {
			return nil, fmt.Errorf("MIME part %d has no Content-Type", len(parts)+1)
		}
		parts = append(parts, part{contentType: contentType, body: string(body)})
	}
	if len(parts) == 0 {
		return nil, errors.New("the MIME document has no parts")
	}
	return parts, nil
}

// writeMultipart writes parts as a MIME multipart document.
func writeMultipart(parts []part) (string, error) {
	delimiter := "--" + boundary
	var b strings.Builder
	b.WriteString("MIME-Version: 1.0\n")
	b.WriteString(`Content-Type: multipart/mixed; boundary="` + boundary + `"` + "\n\n")
	for i, p := range parts {
		for _, line := range strings.Split(p.body, "\n") {
			if strings.HasPrefix(strings.TrimRight(line, "\r"), delimiter) {
				return "", fmt.Errorf("MIME part %d contains a line starting with the boundary %q", i+1, delimiter)
			}
		}
		b.WriteString(delimiter + "\n")
		b.WriteString("Content-Type: " + p.contentType + "\n\n")
		b.WriteString(strings.TrimRight(p.body, "\n") + "\n")
	}
	b.WriteString(delimiter + "--\n")
	return b.String(), nil
}

// mediaType returns the media type of a Content-Type, without parameters.
func mediaType(contentType string) string {
	t, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(contentType))
	}
	return t
}
