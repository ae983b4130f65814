package simulate

import (
	"math"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/names"
)

// PodTopologySpread's PreFilter counts the pods its constraints select in
// every topology domain, and keeps for each constraint the domain with the
// fewest (the skew is measured from it) and a second one. Its AddPod, which
// the simulator uses to keep a cached state current as the solver places
// pods, updates the counts exactly but keeps only those two domains: when
// both fill up, a third domain that now holds the fewest is not seen, and
// the state allows placements that a fresh PreFilter would refuse. Running
// PreFilter again for each such placement counts every pod of every node,
// and made large solves quadratic.
//
// So after AddPod the simulator recomputes the two domains from the
// plugin's own counts, which are exact. The state's type is the plugin's
// own and unexported; its fields are exported and read by reflection, by
// name. A field that is not found, as after an upgrade that renamed it,
// makes the simulator fall back to running PreFilter again, which is
// always exact (TestCachedStatesAnswerAsFreshPreFilter proves the two
// agree).

// spreadStateKey is where PodTopologySpread writes its PreFilter state.
const spreadStateKey = "PreFilter" + names.PodTopologySpread

// spreadState is a view of PodTopologySpread's PreFilter state.
type spreadState struct {
	// keys are the constraints' topology keys.
	keys []string
	// counts[i] are the plugin's matching pods by domain of constraint i.
	counts []map[string]int
	// paths[i] is the plugin's pair of critical paths of constraint i.
	paths []reflect.Value
}

// spreadStateOf reads PodTopologySpread's PreFilter state out of state; ok
// is false when the plugin wrote none (it skipped the pod) or the state is
// not shaped as expected.
func spreadStateOf(state fwk.CycleState) (*spreadState, bool) {
	data, err := state.Read(spreadStateKey)
	if err != nil || data == nil {
		return nil, false
	}
	v := reflect.ValueOf(data)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil, false
	}
	v = v.Elem()
	constraints, paths, counts := v.FieldByName("Constraints"), v.FieldByName("CriticalPaths"), v.FieldByName("TpValueToMatchNum")
	if !constraints.IsValid() || !paths.IsValid() || !counts.IsValid() ||
		constraints.Kind() != reflect.Slice || paths.Kind() != reflect.Slice || !counts.CanInterface() {
		return nil, false
	}
	byDomain, ok := counts.Interface().([]map[string]int)
	if !ok || len(byDomain) != constraints.Len() || paths.Len() != constraints.Len() {
		return nil, false
	}
	s := &spreadState{counts: byDomain}
	for i := range constraints.Len() {
		key := constraints.Index(i).FieldByName("TopologyKey")
		if !key.IsValid() || key.Kind() != reflect.String {
			return nil, false
		}
		s.keys = append(s.keys, key.String())
		p := paths.Index(i)
		if p.Kind() != reflect.Pointer || p.IsNil() {
			return nil, false
		}
		pair := p.Elem()
		if pair.Kind() != reflect.Array || pair.Len() != 2 {
			return nil, false
		}
		for j := range 2 {
			path := pair.Index(j)
			if path.Kind() != reflect.Struct || path.NumField() != 2 ||
				path.Type().Field(0).Name != "TopologyValue" || path.Type().Field(1).Name != "MatchNum" ||
				!path.Field(0).CanSet() || path.Field(0).Kind() != reflect.String || !path.Field(1).CanSet() || path.Field(1).Kind() != reflect.Int {
				return nil, false
			}
		}
		s.paths = append(s.paths, pair)
	}
	return s, true
}

// floor is the fewest matching pods of any domain of constraint i.
func (s *spreadState) floor(i int) int { return int(s.paths[i].Index(0).Field(1).Int()) }

// onPaths lists the constraints whose critical paths hold the node's
// domain: the ones AddPod may leave inexact when it adds a pod there.
func (s *spreadState) onPaths(node *corev1.Node, into []int) []int {
	into = into[:0]
	for i, key := range s.keys {
		value, ok := node.Labels[key]
		if !ok {
			continue
		}
		pair := s.paths[i]
		if pair.Index(0).Field(0).String() == value || pair.Index(1).Field(0).String() == value {
			into = append(into, i)
		}
	}
	return into
}

// repair sets constraint i's critical paths to the two domains with the
// fewest matching pods, as PreFilter would. Counts only grow between
// repairs, so no domain holds fewer than floor: two domains at floor end
// the search.
func (s *spreadState) repair(i, floor int) {
	// The plugin's own "no domain" is MaxInt32.
	first, second := pathEntry{num: math.MaxInt32}, pathEntry{num: math.MaxInt32}
	for value, num := range s.counts[i] {
		switch {
		case num < first.num:
			first, second = pathEntry{value, num}, first
		case num < second.num:
			second = pathEntry{value, num}
		}
		if second.num <= floor {
			break
		}
	}
	pair := s.paths[i]
	for j, e := range []pathEntry{first, second} {
		pair.Index(j).Field(0).SetString(e.value)
		pair.Index(j).Field(1).SetInt(int64(e.num))
	}
}

type pathEntry struct {
	value string
	num   int
}
