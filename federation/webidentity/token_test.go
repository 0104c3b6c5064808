package webidentity

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestConditionKeysGitHubGolden pins the condition keys a GitHub Actions
// token yields, the names trust policies are written against.
func TestConditionKeysGitHubGolden(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, rsaA())
	clock := newFakeClock()
	v := testVerifier(t, clock, Options{}, githubAgainst(f))
	claims := githubClaims(GitHubActionsIssuer, clock.Now())
	claims["aud"] = []string{testAudience, "sts.amazonaws.com"}
	tok, err := v.Verify(context.Background(), sign(t, rsaA(), claims, nil))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	got, err := json.MarshalIndent(tok.ConditionKeys(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "github_condition_keys.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("condition keys differ from %s; got:\n%s", golden, got)
	}

	keys := tok.ConditionKeys()
	for _, name := range []string{"sub", "repository", "repository_id", "job_workflow_ref", "environment", "runner_environment"} {
		if len(keys["token.actions.githubusercontent.com:"+name]) != 1 {
			t.Errorf("key %s missing", name)
		}
	}
	if aud := keys["token.actions.githubusercontent.com:aud"]; !slices.Equal(aud, []string{testAudience, "sts.amazonaws.com"}) {
		t.Errorf("aud key = %q, want both audiences", aud)
	}
}

func TestConditionKeysValueForms(t *testing.T) {
	t.Parallel()
	var claims map[string]any
	raw := `{
		"s": "text",
		"empty": "",
		"int": 123456789,
		"bigint": 123456789012345678901234567890,
		"neg": -42,
		"frac": 1.5,
		"exp_int": 1e3,
		"exp_small": 2.5E-3,
		"exp_huge": 1e400,
		"t": true,
		"f": false,
		"null": null,
		"obj": {"a": "b"},
		"strs": ["a", "b"],
		"mixed_scalars": ["a", 1, true],
		"with_object": ["a", {"b": 1}],
		"with_null": ["a", null],
		"empty_list": [],
		"Case": "kept"
	}`
	if err := decodeInto(raw, &claims); err != nil {
		t.Fatal(err)
	}
	tok := &Token{Issuer: &Issuer{URL: "https://GitLab.Example.com/ci/"}, Claims: claims}
	got := tok.ConditionKeys()
	want := map[string][]string{
		"gitlab.example.com/ci:s":             {"text"},
		"gitlab.example.com/ci:empty":         {""},
		"gitlab.example.com/ci:int":           {"123456789"},
		"gitlab.example.com/ci:bigint":        {"123456789012345678901234567890"},
		"gitlab.example.com/ci:neg":           {"-42"},
		"gitlab.example.com/ci:frac":          {"1.5"},
		"gitlab.example.com/ci:exp_int":       {"1000"},
		"gitlab.example.com/ci:exp_small":     {"0.0025"},
		"gitlab.example.com/ci:t":             {"true"},
		"gitlab.example.com/ci:f":             {"false"},
		"gitlab.example.com/ci:strs":          {"a", "b"},
		"gitlab.example.com/ci:mixed_scalars": {"a", "1", "true"},
		"gitlab.example.com/ci:Case":          {"kept"},
	}
	for k, w := range want {
		if !slices.Equal(got[k], w) {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected key %s = %q", k, got[k])
		}
	}
}

func decodeInto(raw string, claims *map[string]any) error {
	m, err := decodeClaims([]byte(raw))
	*claims = m
	return err
}

func TestConditionKeyPrefix(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://token.actions.githubusercontent.com":          "token.actions.githubusercontent.com",
		"https://token.actions.githubusercontent.com/octo-ent": "token.actions.githubusercontent.com/octo-ent",
		"https://gitlab.example.com/":                          "gitlab.example.com",
		"https://ghes.example.com/_services/token":             "ghes.example.com/_services/token",
		"http://127.0.0.1:8080":                                "127.0.0.1:8080",
	} {
		if got := conditionKeyPrefix(in); got != want {
			t.Errorf("conditionKeyPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNumericDateForms(t *testing.T) {
	t.Parallel()
	claims, err := decodeClaims([]byte(`{"a": 1700000000, "b": 1700000000.25, "c": -1, "d": "1700000000", "e": 1e20}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok, err := numericDate(claims, "a"); err != nil || !ok || !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("a = %v %v %v", got, ok, err)
	}
	if got, ok, err := numericDate(claims, "b"); err != nil || !ok || !got.Equal(time.Unix(1700000000, 250_000_000)) {
		t.Errorf("b = %v %v %v", got, ok, err)
	}
	for _, name := range []string{"c", "d", "e"} {
		if _, _, err := numericDate(claims, name); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, ok, err := numericDate(claims, "absent"); ok || err != nil {
		t.Errorf("absent = %v %v", ok, err)
	}
}
