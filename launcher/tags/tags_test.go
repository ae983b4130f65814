package tags

import "testing"

// TestOwnedTagsWin: a class's tags are kept, but never replace the tags by
// which Tailor finds and attributes what it made.
func TestOwnedTagsWin(t *testing.T) {
	classTags := map[string]string{"team": "a", NodeClaim: "spoofed", ClusterKey("c"): "shared", ManagedBy: "other"}
	tests := []struct {
		name string
		got  map[string]string
		want map[string]string
	}{
		{"instance", Instance("c", "default", "pool", "claim-1", classTags), map[string]string{
			"team": "a", NodeClaim: "claim-1", NodePool: "pool", NodeClass: "default", ClusterKey("c"): Owned, EKSClusterName: "c", ManagedBy: "other",
		}},
		{"instance without a pool", Instance("c", "default", "", "claim-1", nil), map[string]string{
			NodeClaim: "claim-1", NodeClass: "default", ClusterKey("c"): Owned, EKSClusterName: "c",
		}},
		{"owned resource", OwnedBy("c", "default", classTags), map[string]string{
			"team": "a", NodeClaim: "spoofed", NodeClass: "default", ClusterKey("c"): Owned, EKSClusterName: "c", ManagedBy: "c", Cluster: "c",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.got) != len(tc.want) {
				t.Errorf("tags %v, want %v", tc.got, tc.want)
			}
			for k, v := range tc.want {
				if tc.got[k] != v {
					t.Errorf("tag %s=%q, want %q", k, tc.got[k], v)
				}
			}
		})
	}
	if classTags[NodeClaim] != "spoofed" {
		t.Error("the class's tags were modified")
	}
}
