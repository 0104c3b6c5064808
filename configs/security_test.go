package configs

import (
	"net/netip"
	"reflect"
	"testing"
)

func sec(key, value string) string { return "security:\n  " + key + ": " + value + "\n" }

var securityCases = []validationCase{
	{name: "min 8", yaml: sec("password_min_length", "8")},
	{name: "min 64", yaml: sec("password_min_length", "64")},
	{name: "min too small", yaml: sec("password_min_length", "7"), paths: []string{"security.password_min_length"}, msg: "security.password_min_length: must be between 8 and 64 (got 7)"},
	{name: "min too big", yaml: sec("password_min_length", "65"), paths: []string{"security.password_min_length"}},
	{name: "min not a number", yaml: sec("password_min_length", "twelve"), paths: []string{"security.password_min_length"}, msg: `must be a whole number (got "twelve")`},
	{name: "min quoted number", yaml: sec("password_min_length", `"12"`), paths: []string{"security.password_min_length"}, msg: "must be a whole number"},
	{name: "min hex", yaml: sec("password_min_length", "0x10")},
	{name: "min huge", yaml: sec("password_min_length", "99999999999999999999999"), paths: []string{"security.password_min_length"}, msg: "must be a whole number"},
	{name: "min float exponent", yaml: sec("password_min_length", "1e2"), paths: []string{"security.password_min_length"}, msg: "must be a whole number"},
	{name: "min fraction", yaml: sec("password_min_length", "12.5"), paths: []string{"security.password_min_length"}, msg: "must be a whole number"},
	{name: "max too small", yaml: sec("password_max_length", "63"), paths: []string{"security.password_max_length"}, msg: "must be between 64 and 1024"},
	{name: "max too big", yaml: sec("password_max_length", "1025"), paths: []string{"security.password_max_length"}},
	{name: "max equal min", yaml: "security:\n  password_min_length: 64\n  password_max_length: 64\n"},
	{name: "max below min", yaml: "security:\n  password_min_length: 100\n  password_max_length: 80\n", paths: []string{"security.password_min_length", "security.password_max_length"}, msg: "security.password_max_length: must be at least password_min_length (100), got 80"},
	{name: "user failures zero", yaml: sec("user_max_failures", "0"), paths: []string{"security.user_max_failures"}, msg: "must be between 1 and 100"},
	{name: "user failures too many", yaml: sec("user_max_failures", "101"), paths: []string{"security.user_max_failures"}},
	{name: "lockout too short", yaml: sec("user_lockout", "30s"), paths: []string{"security.user_lockout"}, msg: "security.user_lockout: must be between 1m and 24h"},
	{name: "lockout too long", yaml: sec("user_lockout", "25h"), paths: []string{"security.user_lockout"}},
	{name: "ip failures zero", yaml: sec("ip_max_failures", "0"), paths: []string{"security.ip_max_failures"}, msg: "must be between 1 and 100000"},
	{name: "window too short", yaml: sec("failure_window", "1s"), paths: []string{"security.failure_window"}},
	{name: "login min zero", yaml: sec("login_min_duration", "0s")},
	{name: "login min too long", yaml: sec("login_min_duration", "6s"), paths: []string{"security.login_min_duration"}, msg: "must be between 0s and 5s (got 6s)"},
	{name: "login min negative", yaml: sec("login_min_duration", "-1ms"), paths: []string{"security.login_min_duration"}},
	{name: "proxies ok", yaml: sec("trusted_proxies", `[10.0.0.0/8, "fd00::/8", 192.0.2.7/32]`)},
	{name: "proxy bare ip", yaml: sec("trusted_proxies", `[10.0.0.0/8, 192.0.2.7]`), paths: []string{"security.trusted_proxies[1]"}, msg: `security.trusted_proxies[1]: must be a CIDR range; for the single address write "192.0.2.7/32"`},
	{name: "proxy garbage", yaml: sec("trusted_proxies", `[proxy.example.com]`), paths: []string{"security.trusted_proxies[0]"}, msg: "must be a CIDR range such as"},
	{name: "proxy host bits", yaml: sec("trusted_proxies", `[10.1.2.3/8]`), paths: []string{"security.trusted_proxies[0]"}, msg: `has host bits set: write "10.0.0.0/8" for the range or "10.1.2.3/32"`},
	{name: "proxy everything v4", yaml: sec("trusted_proxies", `[0.0.0.0/0]`), paths: []string{"security.trusted_proxies[0]"}, msg: "trusts every address"},
	{name: "proxy everything v6", yaml: sec("trusted_proxies", `["::/0"]`), paths: []string{"security.trusted_proxies[0]"}, msg: "trusts every address"},
	{name: "proxy duplicate", yaml: sec("trusted_proxies", `[10.0.0.0/8, 10.0.0.0/8]`), paths: []string{"security.trusted_proxies[1]"}, msg: "duplicate of security.trusted_proxies[0]"},
	{name: "proxies not a list", yaml: sec("trusted_proxies", `10.0.0.0/8`), paths: []string{"security.trusted_proxies"}, msg: "must be a list"},
	{name: "proxies list of lists", yaml: sec("trusted_proxies", `[[10.0.0.0/8]]`), paths: []string{"security.trusted_proxies[0]"}, msg: "must be a single value"},
}

func TestSecurityValidation(t *testing.T) {
	t.Parallel()
	runCases(t, securityCases)
}

func TestTrustedProxyPrefixes(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(sec("trusted_proxies", `[10.0.0.0/8, "fd00::/8"]`)), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	if got := c.Security.TrustedProxyPrefixes(); !reflect.DeepEqual(got, want) {
		t.Errorf("TrustedProxyPrefixes() = %v, want %v", got, want)
	}
	if got := Defaults().Security.TrustedProxyPrefixes(); len(got) != 0 {
		t.Errorf("default trusted proxies = %v, want none", got)
	}
}
