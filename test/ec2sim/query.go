package ec2sim

import (
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// maxQueryBody bounds a query request body; EC2 refuses requests much
// smaller, but a launch template with 16 KiB of base64 user data must fit.
const maxQueryBody = 1 << 20

// params is a view of an ec2query or awsQuery request, whose nested
// structures and lists are flattened into dotted keys:
//
//	LaunchTemplateConfigs.1.Overrides.2.InstanceType=m5.large  (ec2query lists)
//	Tags.member.1.Key=team                                       (awsQuery lists)
//
// A params value is rooted at a prefix, so a handler walks the structure the
// way the SDK's serializer built it.
type params struct {
	values url.Values
	prefix string
}

// readParams decodes a form-encoded request body (and any query string).
func readParams(r *http.Request) (params, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxQueryBody+1))
	if err != nil {
		return params{}, clientError("InvalidParameterValue", "The request body could not be read: %v", err)
	}
	if len(body) > maxQueryBody {
		return params{}, clientError("InvalidParameterValue", "The request body is larger than %d bytes", maxQueryBody)
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return params{}, clientError("InvalidParameterValue", "The request body is not a valid form-encoded query: %v", err)
	}
	for k, v := range r.URL.Query() {
		values[k] = append(values[k], v...)
	}
	return params{values: values}, nil
}

// String returns the value of key, empty when absent.
func (p params) String(key string) string {
	return p.values.Get(p.prefix + key)
}

// Has reports whether key, or anything nested under it, was sent.
func (p params) Has(key string) bool {
	full := p.prefix + key
	if _, ok := p.values[full]; ok {
		return true
	}
	for k := range p.values {
		if strings.HasPrefix(k, full+".") {
			return true
		}
	}
	return false
}

// Required returns the value of key or a MissingParameter error.
func (p params) Required(key string) (string, error) {
	v := p.String(key)
	if v == "" {
		return "", errMissingParameter(p.prefix + key)
	}
	return v, nil
}

// Int returns the integer value of key; nil when absent.
func (p params) Int(key string) (*int64, error) {
	s := p.String(key)
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, errInvalidParameterValue(p.prefix+key, s, "Expecting an integer.")
	}
	return &n, nil
}

// Float returns the decimal value of key; nil when absent.
func (p params) Float(key string) (*float64, error) {
	s := p.String(key)
	if s == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, errInvalidParameterValue(p.prefix+key, s, "Expecting a number.")
	}
	return &f, nil
}

// Bool returns the boolean value of key; false when absent.
func (p params) Bool(key string) (bool, error) {
	switch s := p.String(key); strings.ToLower(s) {
	case "":
		return false, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	default:
		return false, errInvalidParameterValue(p.prefix+key, s, "Expecting true or false.")
	}
}

// OptionalBool returns the boolean value of key; nil when absent, for the
// flags whose absence means "as the resource's default" rather than false.
func (p params) OptionalBool(key string) (*bool, error) {
	if p.String(key) == "" {
		return nil, nil
	}
	b, err := p.Bool(key)
	return &b, err
}

// Struct returns the view of the structure member key.
func (p params) Struct(key string) params {
	return params{values: p.values, prefix: p.prefix + key + "."}
}

// List returns the elements of the ec2query list key (key.1, key.2, ...),
// ordered by index. Indexes need not be contiguous: EC2 accepts gaps.
func (p params) List(key string) []params {
	var out []params
	for _, i := range p.indexes(p.prefix + key + ".") {
		out = append(out, params{values: p.values, prefix: p.prefix + key + "." + strconv.Itoa(i) + "."})
	}
	return out
}

// Strings returns the values of the ec2query list of scalars key.
func (p params) Strings(key string) []string {
	var out []string
	for _, i := range p.indexes(p.prefix + key + ".") {
		if v := p.values.Get(p.prefix + key + "." + strconv.Itoa(i)); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Members returns the elements of the awsQuery list key (key.member.1, ...).
func (p params) Members(key string) []params {
	return p.List(key + ".member")
}

// indexes returns the distinct list indexes that follow prefix in any key.
func (p params) indexes(prefix string) []int {
	seen := map[int]bool{}
	for k := range p.values {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		digits, _, _ := strings.Cut(rest, ".")
		if i, err := strconv.Atoi(digits); err == nil && i > 0 {
			seen[i] = true
		}
	}
	out := make([]int, 0, len(seen))
	for i := range seen {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}
