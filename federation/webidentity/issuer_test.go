package webidentity

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func TestIssuerValidate(t *testing.T) {
	t.Parallel()
	inline, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{ecA().jwk()}})
	if err != nil {
		t.Fatal(err)
	}
	valid := func() Issuer {
		return Issuer{Name: "github", URL: GitHubActionsIssuer, Audiences: []string{testAudience}}
	}
	tests := []struct {
		name   string
		mutate func(*Issuer)
		want   []string // substrings of the error; none means valid
	}{
		{"minimal", func(*Issuer) {}, nil},
		{"github preset", func(i *Issuer) { *i = GitHubActions(testAudience) }, nil},
		{"enterprise preset", func(i *Issuer) { *i = GitHubEnterprise("octo-ent", testAudience) }, nil},
		{"http loopback for tests", func(i *Issuer) { i.URL = "http://127.0.0.1:8080" }, nil},
		{"http ipv6 loopback", func(i *Issuer) { i.URL = "http://[::1]:8080/issuer" }, nil},
		{"all algorithms", func(i *Issuer) { i.Algorithms = []string{"RS256", "PS256", "ES256", "EdDSA"} }, nil},
		{"inline jwks", func(i *Issuer) { i.InlineJWKS = inline }, nil},
		{"name missing", func(i *Issuer) { i.Name = "" }, []string{"issuers[].name: required"}},
		{"url missing", func(i *Issuer) { i.URL = "" }, []string{"issuers[github].url: required"}},
		{"url http", func(i *Issuer) { i.URL = "http://token.actions.githubusercontent.com" }, []string{"issuers[github].url: must be https"}},
		{"url http on other loopback address", func(i *Issuer) { i.URL = "http://127.0.0.2" }, []string{"issuers[github].url: must be https"}},
		{"url relative", func(i *Issuer) { i.URL = "token.actions.githubusercontent.com" }, []string{"issuers[github].url: must be an absolute https URL"}},
		{"url ftp", func(i *Issuer) { i.URL = "ftp://example.com" }, []string{`issuers[github].url: must be https, got scheme "ftp"`}},
		{"url query", func(i *Issuer) { i.URL = GitHubActionsIssuer + "?x=1" }, []string{"issuers[github].url: must not have a query"}},
		{"url user info", func(i *Issuer) { i.URL = "https://u:p@example.com" }, []string{"issuers[github].url: must not have a query, fragment or user info"}},
		{"no audiences", func(i *Issuer) { i.Audiences = nil }, []string{"issuers[github].audiences: at least one audience is required"}},
		{"empty audience", func(i *Issuer) { i.Audiences = []string{testAudience, " "} }, []string{"issuers[github].audiences[1]: must not be empty"}},
		{"duplicate audience", func(i *Issuer) { i.Audiences = []string{"a", "a"} }, []string{"issuers[github].audiences[1]: duplicate"}},
		{"alg none", func(i *Issuer) { i.Algorithms = []string{"RS256", "none"} }, []string{"issuers[github].algorithms[1]: none is refused"}},
		{"alg HS256", func(i *Issuer) { i.Algorithms = []string{"HS256"} }, []string{"issuers[github].algorithms[0]: HS256 is refused"}},
		{"alg hs512 lower case", func(i *Issuer) { i.Algorithms = []string{"hs512"} }, []string{"issuers[github].algorithms[0]: hs512 is refused"}},
		{"alg unsupported", func(i *Issuer) { i.Algorithms = []string{"RS1"} }, []string{`issuers[github].algorithms[0]: unsupported algorithm "RS1"`}},
		{"alg wrong case", func(i *Issuer) { i.Algorithms = []string{"rs256"} }, []string{`issuers[github].algorithms[0]: unsupported algorithm "rs256"`}},
		{"alg duplicate", func(i *Issuer) { i.Algorithms = []string{"ES256", "ES256"} }, []string{"issuers[github].algorithms[1]: duplicate"}},
		{"jwks url http", func(i *Issuer) { i.JWKSURL = "http://keys.example.com/jwks" }, []string{"issuers[github].jwks_url: must be https"}},
		{"jwks url and inline", func(i *Issuer) { i.JWKSURL = "https://keys.example.com/jwks"; i.InlineJWKS = inline }, []string{"issuers[github].jwks_url: set either jwks_url or inline_jwks"}},
		{"inline jwks not json", func(i *Issuer) { i.InlineJWKS = []byte("{") }, []string{"issuers[github].inline_jwks: decode key set"}},
		{"inline jwks without usable keys", func(i *Issuer) {
			i.InlineJWKS = inline
			i.Algorithms = []string{"RS256"} // the only key is EC
		}, []string{"issuers[github].inline_jwks: key set has no usable signing keys"}},
		{"several problems at once", func(i *Issuer) { i.URL = "http://x.test"; i.Audiences = nil; i.Algorithms = []string{"none"} }, []string{
			"issuers[github].url:", "issuers[github].audiences:", "issuers[github].algorithms[0]:",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			is := valid()
			tc.mutate(&is)
			err := is.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %+v", is)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestGitHubPresets(t *testing.T) {
	t.Parallel()
	gh := GitHubActions("sts.amazonaws.com")
	if gh.URL != "https://token.actions.githubusercontent.com" || gh.Audiences[0] != "sts.amazonaws.com" {
		t.Errorf("GitHubActions = %+v", gh)
	}
	if len(gh.Algorithms) != 1 || gh.Algorithms[0] != "RS256" {
		t.Errorf("GitHubActions algorithms = %q, want RS256 only", gh.Algorithms)
	}
	if gh.JWKSURL != "" || gh.InlineJWKS != nil {
		t.Errorf("GitHubActions should discover its keys")
	}

	ent := GitHubEnterprise("octo-ent", "sts.amazonaws.com")
	if ent.URL != "https://token.actions.githubusercontent.com/octo-ent" {
		t.Errorf("GitHubEnterprise URL = %q", ent.URL)
	}
	if ent.Name != "github-enterprise-octo-ent" {
		t.Errorf("GitHubEnterprise Name = %q", ent.Name)
	}
	if got := conditionKeyPrefix(ent.URL); got != "token.actions.githubusercontent.com/octo-ent" {
		t.Errorf("enterprise condition key prefix = %q", got)
	}
	// A slug cannot move the issuer to another host or path.
	hostile := GitHubEnterprise("../../evil.test/x?y#z", "a")
	if !strings.HasPrefix(hostile.URL, GitHubActionsIssuer+"/") || strings.ContainsAny(hostile.URL[len(GitHubActionsIssuer)+1:], "/?#") {
		t.Errorf("hostile slug produced %q", hostile.URL)
	}
}

func TestNewVerifierRefusesBadConfiguration(t *testing.T) {
	t.Parallel()
	ok := GitHubActions(testAudience)
	tests := []struct {
		name    string
		issuers []Issuer
		opts    Options
		want    string
	}{
		{"skew over a minute", []Issuer{ok}, Options{Skew: 61 * time.Second}, "options.skew: 1m1s exceeds the maximum of 1m0s"},
		{"negative ttl", []Issuer{ok}, Options{JWKSTTL: -time.Second}, "options.jwks_ttl: must not be negative"},
		{"github and an enterprise together", []Issuer{ok, GitHubEnterprise("x", testAudience)}, Options{}, ""},
		{"duplicate url", []Issuer{ok, func() Issuer { i := ok; i.Name = "other"; return i }()}, Options{}, "issuers[other].url: issuer \"https://token.actions.githubusercontent.com\" is configured twice"},
		{"same name twice", []Issuer{ok, func() Issuer { i := GitHubEnterprise("x", testAudience); i.Name = ok.Name; return i }()}, Options{}, "issuers[github-actions].name: duplicate issuer name"},
		{"unnamed issuer gets its index", []Issuer{ok, {URL: "https://a.example"}}, Options{}, "issuers[1].name: required"},
		{"invalid issuer", []Issuer{{Name: "gl", URL: "https://gitlab.example", Algorithms: []string{"HS256"}}}, Options{}, "issuers[gl].algorithms[0]: HS256 is refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewVerifier(tc.issuers, tc.opts)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("NewVerifier: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewVerifier error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestNewVerifierCopiesConfiguration(t *testing.T) {
	t.Parallel()
	is := GitHubActions(testAudience)
	v, err := NewVerifier([]Issuer{is}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	is.Audiences[0] = "https://attacker.test"
	ti, _ := v.lookup(GitHubActionsIssuer)
	if !ti.audiences[testAudience] || ti.audiences["https://attacker.test"] || ti.cfg.Audiences[0] != testAudience {
		t.Fatal("changing the caller's Issuer after NewVerifier changed the verifier")
	}
}
