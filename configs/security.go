package configs

import (
	"fmt"
	"net/netip"
	"time"
)

// SecurityConfig holds password rules, brute-force limits and proxy trust.
type SecurityConfig struct {
	// PasswordMinLength is the fewest characters a new password may have. NIST SP
	// 800-63B §5.1.1.2 asks for at least 8; 12 is the default.
	PasswordMinLength int `yaml:"password_min_length"`
	// PasswordMaxLength is the most characters accepted. NIST SP 800-63B §5.1.1.2
	// asks verifiers to permit at least 64; the cap bounds hashing cost per request.
	PasswordMaxLength int `yaml:"password_max_length"`
	// UserMaxFailures is how many failed logins for one account within
	// FailureWindow lock it for UserLockout.
	UserMaxFailures int `yaml:"user_max_failures"`
	// UserLockout is how long an account stays locked after UserMaxFailures.
	UserLockout Duration `yaml:"user_lockout"`
	// IPMaxFailures is how many failed logins from one client address within
	// FailureWindow block that address, stopping password spraying across accounts.
	IPMaxFailures int `yaml:"ip_max_failures"`
	// FailureWindow is the period over which failures are counted.
	FailureWindow Duration `yaml:"failure_window"`
	// LoginMinDuration is the least time every credential check takes, success or
	// failure, so response time does not reveal whether an account exists.
	LoginMinDuration Duration `yaml:"login_min_duration"`
	// TrustedProxies lists the CIDR ranges of reverse proxies whose
	// X-Forwarded-For header is believed. Requests from anywhere else are
	// attributed to their TCP peer address. Empty trusts no proxy.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

func defaultSecurity() SecurityConfig {
	return SecurityConfig{
		PasswordMinLength: 12,
		PasswordMaxLength: 128,
		UserMaxFailures:   5,
		UserLockout:       dur(15 * time.Minute),
		IPMaxFailures:     50,
		FailureWindow:     dur(15 * time.Minute),
		LoginMinDuration:  dur(250 * time.Millisecond),
	}
}

func (s SecurityConfig) validate(p *problems, key string) {
	intInRange(p, key+".password_min_length", s.PasswordMinLength, 8, 64)
	intInRange(p, key+".password_max_length", s.PasswordMaxLength, 64, 1024)
	if s.PasswordMaxLength < s.PasswordMinLength {
		p.add(key+".password_max_length", "must be at least password_min_length (%d), got %d", s.PasswordMinLength, s.PasswordMaxLength)
	}
	intInRange(p, key+".user_max_failures", s.UserMaxFailures, 1, 100)
	inRange(p, key+".user_lockout", s.UserLockout, dur(time.Minute), dur(24*time.Hour))
	intInRange(p, key+".ip_max_failures", s.IPMaxFailures, 1, 100000)
	inRange(p, key+".failure_window", s.FailureWindow, dur(time.Minute), dur(24*time.Hour))
	inRange(p, key+".login_min_duration", s.LoginMinDuration, 0, dur(5*time.Second))
	validateTrustedProxies(p, key+".trusted_proxies", s.TrustedProxies)
}

func validateTrustedProxies(p *problems, key string, cidrs []string) {
	seen := make(map[netip.Prefix]int, len(cidrs))
	for i, c := range cidrs {
		k := fmt.Sprintf("%s[%d]", key, i)
		pfx, err := netip.ParsePrefix(c)
		if err != nil {
			if a, aerr := netip.ParseAddr(c); aerr == nil {
				p.add(k, "must be a CIDR range; for the single address write %q", netip.PrefixFrom(a, a.BitLen()))
			} else {
				p.add(k, "must be a CIDR range such as 10.0.0.0/8 or fd00::/8 (got %q)", c)
			}
			continue
		}
		if pfx != pfx.Masked() {
			// "10.1.2.3/8" is usually a mistake for either the /32 or the /8; trusting
			// the wider one by accident lets more hosts forge client addresses.
			p.add(k, "has host bits set: write %q for the range or %q for the single address", pfx.Masked(), netip.PrefixFrom(pfx.Addr(), pfx.Addr().BitLen()))
			continue
		}
		if pfx.Bits() == 0 {
			p.add(k, "trusts every address, so any client could forge X-Forwarded-For and dodge the per-address login limits; list your proxies' ranges")
			continue
		}
		if j, dup := seen[pfx]; dup {
			p.add(k, "duplicate of %s[%d]", key, j)
			continue
		}
		seen[pfx] = i
	}
}

// TrustedProxyPrefixes returns TrustedProxies parsed. Call it only on a validated
// Config; entries that do not parse are left out.
func (s SecurityConfig) TrustedProxyPrefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(s.TrustedProxies))
	for _, c := range s.TrustedProxies {
		if pfx, err := netip.ParsePrefix(c); err == nil {
			out = append(out, pfx.Masked())
		}
	}
	return out
}
