package solver

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// Summary says in one line what the node is: "c7i.xlarge or 4 more,
// us-east-1a, on-demand, $0.178/h, for 3 pods".
func (n *Node) Summary() string {
	types := "no instance type"
	if len(n.InstanceTypes) > 0 {
		types = n.InstanceTypes[0].Name
		if more := len(n.InstanceTypes) - 1; more > 0 {
			types += fmt.Sprintf(" or %d more", more)
		}
	}
	return fmt.Sprintf("%s, %s, %s, $%.3f/h, for %d pod%s", types,
		choice(n.Requirements, wellknown.ZoneLabel, "any zone"), choice(n.Requirements, wellknown.CapacityTypeLabel, "any capacity type"),
		n.Price, len(n.Pods), plural(len(n.Pods)))
}

// choice spells the values a key may still take: "us-east-1a",
// "us-east-1a or us-east-1b".
func choice(reqs requirements.Requirements, key, whenOpen string) string {
	r, ok := reqs[key]
	if !ok || r.Len() > 10 {
		return whenOpen
	}
	vs := r.Values()
	sort.Strings(vs)
	return strings.Join(vs, " or ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
