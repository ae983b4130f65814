package ec2sim

import (
	"strings"
)

// filter is one EC2 Filter: a name and values. A resource matches when any
// value matches any of its values for the name; values may use the wildcards
// * (any run of characters) and ? (one character), escaped with \.
type filter struct {
	Name   string
	Values []string
}

// readFilters reads Filter.N.Name and Filter.N.Value.M.
func readFilters(p params) ([]filter, error) {
	var out []filter
	for _, f := range p.List("Filter") {
		name, err := f.Required("Name")
		if err != nil {
			return nil, err
		}
		out = append(out, filter{Name: name, Values: f.Strings("Value")})
	}
	return out, nil
}

// attributes returns a resource's values for a filter name; known is false
// for a name the resource type has no filter for.
type attributes func(name string) (values []string, known bool)

// matchFilters reports whether a resource passes every filter. An unknown
// filter name is an error, as in EC2.
func matchFilters(filters []filter, attrs attributes) (bool, error) {
	for _, f := range filters {
		values, known := attrs(f.Name)
		if !known {
			return false, clientError("InvalidParameterValue", "The filter '%s' is invalid", f.Name)
		}
		if !anyValueMatches(f.Values, values) {
			return false, nil
		}
	}
	return true, nil
}

func anyValueMatches(patterns, values []string) bool {
	for _, p := range patterns {
		for _, v := range values {
			if wildcardMatch(p, v) {
				return true
			}
		}
	}
	return false
}

// withTagAttributes extends attrs with the filters every taggable resource
// has: tag:<key>, tag-key and tag-value.
func withTagAttributes(tags map[string]string, attrs attributes) attributes {
	return func(name string) ([]string, bool) {
		if key, ok := strings.CutPrefix(name, "tag:"); ok {
			if v, ok := tags[key]; ok {
				return []string{v}, true
			}
			return nil, true
		}
		switch name {
		case "tag-key":
			keys := make([]string, 0, len(tags))
			for k := range tags {
				keys = append(keys, k)
			}
			return keys, true
		case "tag-value":
			values := make([]string, 0, len(tags))
			for _, v := range tags {
				values = append(values, v)
			}
			return values, true
		}
		return attrs(name)
	}
}

// wildcardMatch matches s against an EC2 filter value.
func wildcardMatch(pattern, s string) bool {
	p := []rune(pattern)
	t := []rune(s)
	// Classic two-pointer match with backtracking to the last *.
	pi, ti := 0, 0
	star, mark := -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && p[pi] == '\\' && pi+1 < len(p) && p[pi+1] == t[ti]:
			pi += 2
			ti++
		case pi < len(p) && (p[pi] == '?' || (p[pi] != '*' && p[pi] != '\\' && p[pi] == t[ti])):
			pi++
			ti++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ti
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
