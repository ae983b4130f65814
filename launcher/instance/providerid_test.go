package instance

import "testing"

func TestParseProviderID(t *testing.T) {
	tests := []struct {
		providerID string
		want       string
		wantErr    bool
	}{
		{"aws:///us-east-1a/i-0123456789abcdef0", "i-0123456789abcdef0", false},
		{"aws:///i-0123abcd", "i-0123abcd", false},
		{"kwok://node-1", "", true},
		{"aws:///us-east-1a/", "", true},
		{"aws:///us-east-1a/vol-0123456789abcdef0", "", true},
		{"aws:///a/b/i-0123456789abcdef0", "", true},
		{"", "", true},
	}
	for _, tc := range tests {
		got, err := ParseProviderID(tc.providerID)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("ParseProviderID(%q) = %q, %v; want %q, error %v", tc.providerID, got, err, tc.want, tc.wantErr)
		}
		if IsEC2(tc.providerID) == tc.wantErr {
			t.Errorf("IsEC2(%q) = %v", tc.providerID, !tc.wantErr)
		}
	}
	if got := ProviderID("us-east-1b", "i-0123456789abcdef0"); got != "aws:///us-east-1b/i-0123456789abcdef0" {
		t.Errorf("ProviderID = %s", got)
	}
}
