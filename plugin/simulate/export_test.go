package simulate

// SlowOnly makes a simulator judge every pod with the Filter plugins.
func SlowOnly(s *Simulator) { s.slowOnly = true }

// Uncached makes a simulator run PreFilter afresh for every check, and
// judge every pod with the Filter plugins.
func Uncached(s *Simulator) { s.uncached, s.slowOnly = true, true }
