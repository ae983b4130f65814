package userdata

import (
	"errors"
	"regexp"
	"strings"
)

// parserDetails are the parts of a parser's error that locate a problem
// without quoting the document: line numbers and the names of unknown
// fields.
var parserDetails = regexp.MustCompile(`line \d+|unknown field "[^"]{0,64}"`)

// redact describes a parse error of user data without the parser's own
// words, which may quote the document: user data may hold secrets, and the
// description ends up in conditions, events and logs.
func redact(what string, err error) error {
	details := parserDetails.FindAllString(err.Error(), 3)
	if len(details) == 0 {
		return errors.New(what)
	}
	return errors.New(what + " (" + strings.Join(details, ", ") + ")")
}
