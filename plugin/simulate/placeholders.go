package simulate

import (
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/solver"
)

// AddPlaceholders adds to snap one empty node per pool and zone the pool can
// launch into, labelled as a node of the pool in that zone is sure to be, so
// topology spread counts the zone as an empty domain. It returns their names.
func AddPlaceholders(snap *Snapshot, pools []*solver.Pool) []string {
	var names []string
	for _, p := range pools {
		zones := sets.New[string]()
		for _, it := range p.InstanceTypes {
			for i := range it.Offerings {
				o := &it.Offerings[i]
				if o.Available && o.Matches(p.Requirements) {
					zones.Insert(o.Zone)
				}
			}
		}
		sorted := sets.List(zones)
		sort.Strings(sorted)
		for _, zone := range sorted {
			labels := p.Requirements.Labels()
			labels[wellknown.ZoneLabel] = zone
			name := fmt.Sprintf("%s-placeholder-%s", p.Name(), zone)
			labels[wellknown.HostnameLabel] = name
			snap.AddNode(PlannedNode(name, labels, p.NodePool.Spec.Template.Spec.Taints))
			names = append(names, name)
		}
	}
	return names
}
