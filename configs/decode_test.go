package configs

import (
	"errors"
	"strings"
	"testing"
)

// decodeCases cover the document shape rather than one section.
var decodeCases = []validationCase{
	{name: "empty", yaml: ""},
	{name: "comments only", yaml: "# nothing here\n"},
	{name: "document marker only", yaml: "---\n"},
	{name: "explicit null document", yaml: "~\n"},
	{name: "null section keeps defaults", yaml: "tokens:\n"},
	{name: "null value keeps default", yaml: "tokens:\n  access_token_lifetime: ~\n"},
	{name: "alias to a scalar", yaml: "tokens:\n  access_token_lifetime: &life 15m\n  id_token_lifetime: *life\n"},
	{name: "unknown top-level key", yaml: "lisen: 127.0.0.1:9000\n", paths: []string{"lisen"}, msg: `line 1: lisen: unknown key (did you mean "listen"?)`},
	{name: "unknown nested key", yaml: "tokens:\n  acess_token_lifetime: 5m\n", paths: []string{"tokens.acess_token_lifetime"}, msg: `line 2: tokens.acess_token_lifetime: unknown key (did you mean "access_token_lifetime"?)`},
	{name: "unknown deep key", yaml: "storage:\n  bolt:\n    pth: x.db\n", paths: []string{"storage.bolt.pth"}, msg: `line 3: storage.bolt.pth: unknown key (did you mean "path"?)`},
	{name: "unknown key no suggestion", yaml: "clients: []\n", paths: []string{"clients"}, msg: "clients: unknown key"},
	{name: "unknown section key wrong case", yaml: "Tokens:\n  access_token_lifetime: 5m\n", paths: []string{"Tokens"}, msg: `did you mean "tokens"?`},
	{name: "several unknown keys", yaml: "lisen: x\ntokens:\n  foo: 1\nsigning:\n  alg: RS256\n", paths: []string{"lisen", "tokens.foo", "signing.alg"}},
	{name: "duplicate key", yaml: "listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n", paths: []string{"listen"}, msg: "line 2: listen: duplicate key: already set at line 1"},
	{name: "duplicate nested key", yaml: "tokens:\n  session_lifetime: 1h\n  session_lifetime: 2h\n", paths: []string{"tokens.session_lifetime"}, msg: "duplicate key"},
	{name: "merge key", yaml: "base: &b\n  level: info\nlogging:\n  <<: *b\n", paths: []string{"base", "logging"}, msg: "merge keys (<<) are not supported"},
	{name: "top level list", yaml: "- listen\n", paths: []string{""}, msg: "must be a mapping of keys, not a list"},
	{name: "top level scalar", yaml: "listen\n", paths: []string{""}, msg: "must be a mapping of keys"},
	{name: "mapping key", yaml: "? [a]\n: b\n", paths: []string{""}, msg: "keys must be plain names"},
	{name: "second document", yaml: "listen: 127.0.0.1:1\n---\nlisten: 127.0.0.1:2\n", paths: []string{""}, msg: "a second YAML document"},
	{name: "trailing document marker", yaml: "listen: 127.0.0.1:1\n---\n"},
	{name: "second document after empty one", yaml: "---\n---\nlisten: 127.0.0.1:2\n", paths: []string{""}, msg: "line 3: a second YAML document"},
	{name: "not yaml", yaml: "listen: [\n", paths: []string{""}, msg: "not valid YAML"},
	{name: "tab indentation", yaml: "tokens:\n\taccess_token_lifetime: 5m\n", paths: []string{""}, msg: "not valid YAML"},
}

func TestDecode(t *testing.T) {
	t.Parallel()
	runCases(t, decodeCases)
}

func TestUnknownKeyIsErrUnknownKey(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("listen: 127.0.0.1:1\n\ntokens:\n  acess_token_lifetime: 5m\n"), t.TempDir())
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("error %v does not match ErrUnknownKey", err)
	}
	fes := fieldErrors(err)
	if len(fes) != 1 || fes[0].Line != 4 || fes[0].Path != "tokens.acess_token_lifetime" {
		t.Errorf("got %+v, want one error at line 4, path tokens.acess_token_lifetime", fes)
	}
}

func TestUnknownKeysStopBeforeValidation(t *testing.T) {
	t.Parallel()
	// A misspelt key must be reported as such, not hidden behind the errors of the
	// defaults it failed to override.
	_, err := Parse([]byte("tokens:\n  acess_token_lifetime: 5m\n  session_lifetime: 1m\n"), t.TempDir())
	checkErr(t, err, []string{"tokens.acess_token_lifetime"}, "unknown key")
}

func TestValidationErrorsCarryLines(t *testing.T) {
	t.Parallel()
	yaml := "listen: 127.0.0.1:8080\ntokens:\n  id_token_lifetime: 10m\n  access_token_lifetime: 48h\napply:\n  - a.yaml\n  - b.yaml\n"
	_, err := Parse([]byte(yaml), t.TempDir())
	want := map[string]int{"tokens.access_token_lifetime": 4, "apply[0]": 6, "apply[1]": 7}
	fes := fieldErrors(err)
	if len(fes) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(fes), len(want), err)
	}
	for _, fe := range fes {
		if fe.Line != want[fe.Path] {
			t.Errorf("%s: line %d, want %d", fe.Path, fe.Line, want[fe.Path])
		}
	}
	if !strings.Contains(err.Error(), "line 4: tokens.access_token_lifetime: must be between 1m and 24h (got 48h)") {
		t.Errorf("error text lacks line and path:\n%v", err)
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	fields := yamlFields(typeOf[TokensConfig]())
	tests := []struct{ in, want string }{
		{"acess_token_lifetime", "access_token_lifetime"},
		{"session_lifetim", "session_lifetime"},
		{"ttl", ""},
		{"x", ""},
	}
	for _, tc := range tests {
		if got := suggest(tc.in, fields); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
