package configs

import "testing"

var signingCases = []validationCase{
	{name: "es256", yaml: "signing:\n  algorithm: ES256\n"},
	{name: "eddsa", yaml: "signing:\n  algorithm: EdDSA\n"},
	{name: "unknown alg", yaml: "signing:\n  algorithm: HS256\n", paths: []string{"signing.algorithm"}, msg: `signing.algorithm: must be one of RS256, ES256, EdDSA (got "HS256")`},
	{name: "none alg", yaml: "signing:\n  algorithm: none\n", paths: []string{"signing.algorithm"}, msg: "must be one of RS256, ES256, EdDSA"},
	{name: "alg wrong case", yaml: "signing:\n  algorithm: rs256\n", paths: []string{"signing.algorithm"}, msg: `case-sensitive, write "RS256"`},
	{name: "rotation 1h", yaml: "signing:\n  rotation_period: 1h\n  publish_ahead: 30m\n"},
	{name: "rotation too short", yaml: "signing:\n  rotation_period: 59m\n  publish_ahead: 1m\n", paths: []string{"signing.rotation_period"}, msg: "signing.rotation_period: must be between 1h and 8760h"},
	{name: "rotation too long", yaml: "signing:\n  rotation_period: 8761h\n", paths: []string{"signing.rotation_period"}},
	{name: "publish ahead zero", yaml: "signing:\n  publish_ahead: 0s\n", paths: []string{"signing.publish_ahead"}, msg: "signing.publish_ahead: must be greater than 0"},
	{name: "publish ahead equal rotation", yaml: "signing:\n  rotation_period: 24h\n  publish_ahead: 24h\n", paths: []string{"signing.publish_ahead"}, msg: "must be less than rotation_period (24h), got 24h"},
	{name: "publish ahead beyond rotation", yaml: "signing:\n  rotation_period: 24h\n  publish_ahead: 48h\n", paths: []string{"signing.publish_ahead"}},
}

func TestSigningValidation(t *testing.T) {
	t.Parallel()
	runCases(t, signingCases)
}
