// Package optimum computes, by brute force, the cheapest way to run n
// identical pods on an instance catalog. Tests compare the solver's plans
// with it; it is exact and slow, so nothing else uses it.
package optimum

import (
	"math"

	"github.com/tailor-project/tailor/launcher/catalog"
)

// CheapestPacking is the least total hourly price of n pods requesting
// cpuMilli millicores and memory bytes each: over every way to split them
// among nodes, each node the cheapest available offering of a type whose
// allocatable holds its share (pod slots included). It is +Inf when no
// type holds even one pod.
func CheapestPacking(types []*catalog.InstanceType, cpuMilli, memory int64, n int) float64 {
	perNode := make([]float64, n+1) // the cheapest node for k pods
	for k := 1; k <= n; k++ {
		perNode[k] = math.Inf(1)
		for _, it := range types {
			a := it.Allocatable
			if a.Cpu().MilliValue() < int64(k)*cpuMilli || a.Memory().Value() < int64(k)*memory || a.Pods().Value() < int64(k) {
				continue
			}
			for _, o := range it.Offerings {
				if o.Available && o.Price < perNode[k] {
					perNode[k] = o.Price
				}
			}
		}
	}
	best := make([]float64, n+1)
	for m := 1; m <= n; m++ {
		best[m] = math.Inf(1)
		for k := 1; k <= m; k++ {
			best[m] = math.Min(best[m], perNode[k]+best[m-k])
		}
	}
	return best[n]
}
