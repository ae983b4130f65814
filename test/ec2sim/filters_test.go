package ec2sim

import "testing"

func TestWildcardMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"m5.large", "m5.large", true},
		{"m5.large", "m5.xlarge", false},
		{"m5.*", "m5.2xlarge", true},
		{"*", "", true},
		{"*large", "m5.xlarge", true},
		{"m?.large", "m6.large", true},
		{"m?.large", "m6i.large", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{`literal\*`, "literal*", true},
		{`literal\*`, "literalX", false},
		{"", "", true},
		{"", "x", false},
	} {
		if got := wildcardMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

// TestMatchFilters: values of one filter are ORed, filters ANDed, tag
// filters work on any taggable resource, and an unknown filter is an error.
func TestMatchFilters(t *testing.T) {
	attrs := withTagAttributes(map[string]string{"team": "a", "env": "prod"}, func(name string) ([]string, bool) {
		if name == "state" {
			return []string{"running"}, true
		}
		return nil, false
	})
	for _, tc := range []struct {
		name    string
		filters []filter
		want    bool
		wantErr bool
	}{
		{"no filters", nil, true, false},
		{"one of the values", []filter{{"state", []string{"pending", "running"}}}, true, false},
		{"none of the values", []filter{{"state", []string{"pending"}}}, false, false},
		{"all filters must match", []filter{{"state", []string{"running"}}, {"tag:team", []string{"b"}}}, false, false},
		{"tag value with a wildcard", []filter{{"tag:env", []string{"pr*"}}}, true, false},
		{"a tag the resource lacks", []filter{{"tag:owner", []string{"*"}}}, false, false},
		{"tag-key", []filter{{"tag-key", []string{"env"}}}, true, false},
		{"unknown filter", []filter{{"color", []string{"blue"}}}, false, true},
	} {
		got, err := matchFilters(tc.filters, attrs)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%s: %v, %v; want %v (error %v)", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}
