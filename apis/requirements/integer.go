package requirements

// parseInt64 reads s exactly as strconv.ParseInt(s, 10, 64) does — an
// optional sign, then one or more decimal digits, within the int64 range —
// which is how Kubernetes reads the label and the bound of Gt and Lt. It
// exists because strconv allocates an error for every value that is not an
// integer, and Gt and Lt look at label values on the scheduler's hot path.
func parseInt64(s string) (int64, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false
	}
	// The magnitude is accumulated unsigned; 1<<63 is the largest magnitude an
	// int64 can hold (as a negative number). Checking before the multiply keeps
	// n*10+9 below 1<<64.
	const limit = uint64(1) << 63
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > limit/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > limit {
			return 0, false
		}
	}
	if neg {
		// For n == 1<<63 the conversion wraps to math.MinInt64, and negating
		// that leaves it unchanged, which is the right answer.
		return -int64(n), true
	}
	if n == limit {
		return 0, false
	}
	return int64(n), true
}
