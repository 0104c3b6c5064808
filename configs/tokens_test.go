package configs

import (
	"testing"
	"time"
)

func tok(key, value string) string { return "tokens:\n  " + key + ": " + value + "\n" }

var tokensCases = []validationCase{
	{name: "access at bounds low", yaml: tok("access_token_lifetime", "1m")},
	{name: "access at bounds high", yaml: tok("access_token_lifetime", "24h")},
	{name: "access too short", yaml: tok("access_token_lifetime", "59s"), paths: []string{"tokens.access_token_lifetime"}, msg: "tokens.access_token_lifetime: must be between 1m and 24h (got 59s)"},
	{name: "access too long", yaml: tok("access_token_lifetime", "48h"), paths: []string{"tokens.access_token_lifetime"}, msg: "tokens.access_token_lifetime: must be between 1m and 24h (got 48h)"},
	{name: "access negative", yaml: tok("access_token_lifetime", "-10m"), paths: []string{"tokens.access_token_lifetime"}, msg: "must be between 1m and 24h"},
	{name: "access bare number", yaml: tok("access_token_lifetime", "600"), paths: []string{"tokens.access_token_lifetime"}, msg: `"600" has no unit`},
	{name: "access quoted bare number", yaml: tok("access_token_lifetime", `"600"`), paths: []string{"tokens.access_token_lifetime"}, msg: `"600" has no unit`},
	{name: "access days", yaml: tok("access_token_lifetime", "1d"), paths: []string{"tokens.access_token_lifetime"}, msg: "days are not a unit"},
	{name: "access garbage", yaml: tok("access_token_lifetime", "soon"), paths: []string{"tokens.access_token_lifetime"}, msg: `"soon" is not a duration`},
	{name: "access list", yaml: tok("access_token_lifetime", "[1m]"), paths: []string{"tokens.access_token_lifetime"}, msg: "must be a single value"},
	{name: "id too short", yaml: tok("id_token_lifetime", "30s"), paths: []string{"tokens.id_token_lifetime"}, msg: "tokens.id_token_lifetime: must be between 1m and 24h"},
	{name: "id too long", yaml: tok("id_token_lifetime", "25h"), paths: []string{"tokens.id_token_lifetime"}},
	{name: "refresh too short", yaml: tok("refresh_token_lifetime", "4m"), paths: []string{"tokens.refresh_token_lifetime"}, msg: "must be between 5m and 2160h"},
	{name: "refresh too long", yaml: "tokens:\n  refresh_token_lifetime: 2161h\n  refresh_token_absolute_lifetime: 8760h\n", paths: []string{"tokens.refresh_token_lifetime"}, msg: "must be between 5m and 2160h"},
	{name: "refresh max with absolute", yaml: "tokens:\n  refresh_token_lifetime: 2160h\n  refresh_token_absolute_lifetime: 2160h\n"},
	{name: "absolute below idle", yaml: "tokens:\n  refresh_token_lifetime: 48h\n  refresh_token_absolute_lifetime: 24h\n", paths: []string{"tokens.refresh_token_absolute_lifetime"}, msg: "must be at least refresh_token_lifetime (48h), got 24h"},
	{name: "absolute too long", yaml: tok("refresh_token_absolute_lifetime", "8761h"), paths: []string{"tokens.refresh_token_absolute_lifetime"}, msg: "must be between 5m and 8760h"},
	{name: "code at 10m", yaml: tok("auth_code_lifetime", "10m")},
	{name: "code too short", yaml: tok("auth_code_lifetime", "9s"), paths: []string{"tokens.auth_code_lifetime"}, msg: "tokens.auth_code_lifetime: must be between 10s and 10m"},
	{name: "code too long", yaml: tok("auth_code_lifetime", "11m"), paths: []string{"tokens.auth_code_lifetime"}},
	{name: "auth request too short", yaml: tok("auth_request_lifetime", "30s"), paths: []string{"tokens.auth_request_lifetime"}, msg: "must be between 1m and 1h"},
	{name: "auth request too long", yaml: tok("auth_request_lifetime", "61m"), paths: []string{"tokens.auth_request_lifetime"}},
	{name: "session too short", yaml: tok("session_lifetime", "1m"), paths: []string{"tokens.session_lifetime"}, msg: "must be between 5m and 720h"},
	{name: "session too long", yaml: tok("session_lifetime", "721h"), paths: []string{"tokens.session_lifetime"}},
	{name: "grace 10s", yaml: tok("refresh_reuse_grace", "10s")},
	{name: "grace too long", yaml: tok("refresh_reuse_grace", "11s"), paths: []string{"tokens.refresh_reuse_grace"}, msg: "tokens.refresh_reuse_grace: must be between 0s and 10s"},
	{name: "grace negative", yaml: tok("refresh_reuse_grace", "-1s"), paths: []string{"tokens.refresh_reuse_grace"}},
	{name: "grace bare zero", yaml: tok("refresh_reuse_grace", "0"), paths: []string{"tokens.refresh_reuse_grace"}, msg: `write it with one, e.g. "0s"`},
	{name: "tokens not a mapping", yaml: "tokens: 10m\n", paths: []string{"tokens"}, msg: "tokens: must be a mapping of keys"},
}

func TestTokensValidation(t *testing.T) {
	t.Parallel()
	runCases(t, tokensCases)
}

func TestTokensDefaults(t *testing.T) {
	t.Parallel()
	got := Defaults().Tokens
	want := TokensConfig{
		AccessTokenLifetime:          Duration(10 * time.Minute),
		IDTokenLifetime:              Duration(10 * time.Minute),
		RefreshTokenLifetime:         Duration(24 * time.Hour),
		RefreshTokenAbsoluteLifetime: Duration(720 * time.Hour),
		AuthCodeLifetime:             Duration(time.Minute),
		AuthRequestLifetime:          Duration(15 * time.Minute),
		SessionLifetime:              Duration(12 * time.Hour),
		RefreshReuseGrace:            0,
	}
	if got != want {
		t.Errorf("Defaults().Tokens = %+v, want %+v", got, want)
	}
}
