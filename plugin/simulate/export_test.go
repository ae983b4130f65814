package simulate

// SlowOnly makes a simulator judge every pod with the Filter plugins.
func SlowOnly(s *Simulator) { s.slowOnly = true }
