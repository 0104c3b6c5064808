package webidentity

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// GitHubActionsIssuer is the issuer of GitHub Actions OIDC tokens on
// github.com. GitHub Enterprise Cloud with a unique issuer appends the
// enterprise slug as a path segment (see GitHubEnterprise).
const GitHubActionsIssuer = "https://token.actions.githubusercontent.com"

// Issuer is one trusted token issuer. The zero value is not usable; build one
// from configuration or a preset and call Validate.
type Issuer struct {
	// Name identifies the issuer in configuration, logs and error paths.
	Name string
	// URL is the exact value the token's iss claim must have. Discovery is
	// fetched from URL + "/.well-known/openid-configuration" unless JWKSURL
	// or InlineJWKS is set.
	URL string
	// Audiences lists the aud values accepted; the token's aud must contain
	// at least one of them. Required: an issuer like GitHub mints tokens for
	// anyone, so the audience is what ties a token to this deployment.
	Audiences []string
	// Algorithms is the JWS alg allow-list for this issuer: a subset of
	// RS256, PS256, ES256 and EdDSA. Empty means RS256 and ES256. none and
	// HS* are refused outright (RFC 8725 §3.1, §3.2).
	Algorithms []string
	// JWKSURL, when set, is fetched directly and discovery is skipped.
	JWKSURL string
	// InlineJWKS, when set, is the issuer's key set as JSON; nothing is ever
	// fetched for this issuer (air-gapped deployments). Keys rotate only
	// with the configuration.
	InlineJWKS []byte
	// JTIReplay makes Verify accept each (issuer, jti) once until the token
	// expires. Tokens without jti are then refused.
	JTIReplay bool
}

// GitHubActions is the preset for GitHub Actions on github.com: tokens the
// job requested with the given audience, signed with RS256, keys found
// through discovery. Tests point it at a local fake by setting JWKSURL (the
// iss claim stays GitHub's) or URL.
func GitHubActions(audience string) Issuer {
	return Issuer{
		Name:       "github-actions",
		URL:        GitHubActionsIssuer,
		Audiences:  []string{audience},
		Algorithms: []string{string(jose.RS256)},
	}
}

// GitHubEnterprise is the preset for a GitHub Enterprise Cloud enterprise
// that uses its own issuer, https://token.actions.githubusercontent.com/<slug>.
// The slug is path-escaped, so a hostile slug cannot change the host or
// climb out of the path.
func GitHubEnterprise(slug, audience string) Issuer {
	i := GitHubActions(audience)
	i.Name = "github-enterprise-" + slug
	i.URL = GitHubActionsIssuer + "/" + url.PathEscape(slug)
	return i
}

// algorithms maps the accepted alg names to go-jose's constants.
var algorithms = map[string]jose.SignatureAlgorithm{
	string(jose.RS256): jose.RS256,
	string(jose.PS256): jose.PS256,
	string(jose.ES256): jose.ES256,
	string(jose.EdDSA): jose.EdDSA,
}

// defaultAlgorithms applies when Issuer.Algorithms is empty: RS256 because
// OIDC Core §15.1 makes it mandatory to implement, ES256 because it is the
// common modern choice.
var defaultAlgorithms = []string{string(jose.RS256), string(jose.ES256)}

// effectiveAlgorithms returns the issuer's allow-list with the default
// applied.
func (i Issuer) effectiveAlgorithms() []string {
	if len(i.Algorithms) == 0 {
		return defaultAlgorithms
	}
	return i.Algorithms
}

// path is the configuration path used in validation errors.
func (i Issuer) path() string {
	return "issuers[" + i.Name + "]"
}

// Validate reports every configuration problem at once, each prefixed with
// the key path (issuers[<name>].<field>) and saying what to fix.
func (i Issuer) Validate() error {
	return i.validate(i.path())
}

func (i Issuer) validate(p string) error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", p, field, fmt.Sprintf(format, args...)))
	}

	if strings.TrimSpace(i.Name) == "" {
		add("name", "required")
	}

	if i.URL == "" {
		add("url", "required: the exact iss value of the issuer's tokens")
	} else if err := checkFetchURL(i.URL); err != nil {
		add("url", "%v", err)
	} else if u, _ := url.Parse(i.URL); u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		// OIDC Discovery 1.0 §3: the issuer identifier has no query or
		// fragment; userinfo would end up in discovery requests.
		add("url", "must not have a query, fragment or user info")
	}

	if len(i.Audiences) == 0 {
		add("audiences", "at least one audience is required; without it any token the issuer mints for anyone would be accepted")
	}
	seenAud := make(map[string]bool, len(i.Audiences))
	for n, a := range i.Audiences {
		switch {
		case strings.TrimSpace(a) == "":
			add(fmt.Sprintf("audiences[%d]", n), "must not be empty")
		case seenAud[a]:
			add(fmt.Sprintf("audiences[%d]", n), "duplicate audience %q", a)
		}
		seenAud[a] = true
	}

	seenAlg := make(map[string]bool, len(i.Algorithms))
	for n, a := range i.Algorithms {
		field := fmt.Sprintf("algorithms[%d]", n)
		switch {
		case strings.EqualFold(a, "none"):
			add(field, "none is refused: unsigned tokens prove nothing (RFC 8725 §3.1)")
		case strings.HasPrefix(strings.ToUpper(a), "HS"):
			add(field, "%s is refused: HMAC needs a secret shared with the issuer and invites key confusion with its public keys (RFC 8725 §3.1, §3.2)", a)
		case algorithms[a] == "":
			add(field, "unsupported algorithm %q: use RS256, PS256, ES256 or EdDSA", a)
		case seenAlg[a]:
			add(field, "duplicate algorithm %q", a)
		}
		seenAlg[a] = true
	}

	if i.JWKSURL != "" {
		if len(i.InlineJWKS) > 0 {
			add("jwks_url", "set either jwks_url or inline_jwks, not both")
		} else if err := checkFetchURL(i.JWKSURL); err != nil {
			add("jwks_url", "%v", err)
		}
	}
	if len(i.InlineJWKS) > 0 {
		allowed := make(map[jose.SignatureAlgorithm]bool)
		for _, a := range i.effectiveAlgorithms() {
			if alg, ok := algorithms[a]; ok {
				allowed[alg] = true
			}
		}
		if _, err := parseJWKS(i.InlineJWKS, allowed); err != nil {
			add("inline_jwks", "%v", err)
		}
	}
	return errors.Join(errs...)
}

// loopbackHosts are the only hosts that may be reached over plain http: RFC
// 8252 §8.3 treats the loopback interface as unreachable from other
// machines, which is what local fakes in tests rely on. Anything else would
// let a network attacker substitute keys.
var loopbackHosts = map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true}

// checkFetchURL accepts an absolute https URL, or http on a loopback host.
func checkFetchURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a valid URL: %v", err)
	}
	if !u.IsAbs() || u.Host == "" {
		return errors.New("must be an absolute https URL")
	}
	host := u.Hostname()
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if loopbackHosts[strings.ToLower(host)] {
			return nil
		}
		return fmt.Errorf("must be https; http is allowed only on a loopback host (127.0.0.1, ::1, localhost), got host %q", host)
	default:
		return fmt.Errorf("must be https, got scheme %q", u.Scheme)
	}
}

// conditionKeyPrefix is the provider name used in condition keys: host plus
// path without the scheme or a trailing slash, as IAM names OIDC providers
// (token.actions.githubusercontent.com, or .../<slug> for an enterprise).
// Host names are case-insensitive (RFC 3986 §3.2.2), so the host is
// lowercased; the path is kept as is.
func conditionKeyPrefix(issuerURL string) string {
	u, err := url.Parse(issuerURL)
	if err != nil || u.Host == "" {
		s := issuerURL
		if _, rest, ok := strings.Cut(s, "://"); ok {
			s = rest
		}
		return strings.TrimSuffix(s, "/")
	}
	return strings.ToLower(u.Host) + strings.TrimSuffix(u.EscapedPath(), "/")
}
