package roles

// Glob reports whether s matches pattern, where '*' matches any run of characters
// (including none) and '?' exactly one; every other character matches itself. There
// is no escape: group names and claim values that hold '*' or '?' are matched by the
// wildcard, which only ever widens a rule the administrator wrote.
func Glob(pattern, s string) bool {
	p, t := []rune(pattern), []rune(s)
	pi, ti := 0, 0
	star, mark := -1, 0
	// Greedy with one backtrack point: on a mismatch, let the last '*' absorb one more
	// character. This is linear in practice and O(len(p)*len(t)) at worst, never
	// exponential like a naive recursive matcher.
	for ti < len(t) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == t[ti]):
			pi++
			ti++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ti
			pi++
		case star >= 0:
			mark++
			pi, ti = star+1, mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
