package configs

import (
	"fmt"
	"net/url"
	"slices"
)

// Trusted-issuer presets.
const PresetGitHubActions = "github-actions"

// STSConfig configures the security-token service.
type STSConfig struct {
	// Account is the 12-digit account id in role and assumed-role ARNs.
	Account string `yaml:"account"`
	// Issuers are the web-identity token issuers whose tokens may be exchanged for role
	// credentials (CI systems such as GitHub Actions). Empty: web identity is off.
	Issuers []TrustedIssuerConfig `yaml:"issuers"`
	// SAMLProviders are the SAML identity providers whose assertions may be exchanged at
	// AssumeRoleWithSAML. Empty: SAML is off.
	SAMLProviders []SAMLProviderConfig `yaml:"saml_providers"`
	// AuditAllowSampleRate is the share of allow decisions of the decision point
	// (/authz/v1/check) written to the audit trail, 0..1; denies are always written.
	AuditAllowSampleRate float64 `yaml:"audit_allow_sample_rate"`
}

// SAMLProviderConfig is one trusted SAML identity provider.
type SAMLProviderConfig struct {
	// Name makes the provider ARN arn:portcullis:iam::<account>:saml-provider/<name>.
	Name string `yaml:"name"`
	// MetadataFile holds the IdP's SAML metadata (EntityDescriptor with signing certs).
	MetadataFile string `yaml:"metadata_file"`
	// Audience must appear in the assertion's AudienceRestriction (default <issuer>/sts).
	Audience string `yaml:"audience"`
	// Recipient is the exact SubjectConfirmationData Recipient (default <issuer>/sts).
	Recipient string `yaml:"recipient"`
	// AllowSHA1 accepts RSA-SHA1 signatures (refused by default).
	AllowSHA1 bool `yaml:"allow_sha1"`
}

// TrustedIssuerConfig is one trusted web-identity issuer.
type TrustedIssuerConfig struct {
	// Name identifies the issuer in logs and errors.
	Name string `yaml:"name"`
	// Preset fills URL and algorithms for a known issuer: "github-actions".
	Preset string `yaml:"preset"`
	// URL is the exact iss of its tokens (https; http only on loopback, for tests).
	URL string `yaml:"url"`
	// Audiences: a token's aud must name one of these. Required.
	Audiences []string `yaml:"audiences"`
	// Algorithms allowed for its signatures: RS256, ES256, PS256, EdDSA (never none or
	// HMAC). Default: the preset's, else RS256 and ES256.
	Algorithms []string `yaml:"algorithms"`
	// JWKSURL fetches the keys from here instead of discovery.
	JWKSURL string `yaml:"jwks_url"`
	// JWKSFile holds the keys inline (air-gapped): nothing is fetched.
	JWKSFile string `yaml:"jwks_file"`
	// ReplayProtection refuses a token whose jti was already exchanged.
	ReplayProtection bool `yaml:"replay_protection"`
	// ClaimTags turns token claims into session tags: claim name → tag key. The tags are
	// condition keys (portcullis:PrincipalTag/<key>) for the session's decisions; the
	// trust policy must allow sts:TagSession.
	ClaimTags map[string]string `yaml:"claim_tags"`
}

func defaultSTS() STSConfig { return STSConfig{Account: "000000000000", AuditAllowSampleRate: 1} }

func (s STSConfig) validate(p *problems, key string) {
	if len(s.Account) != 12 || !allDigits(s.Account) {
		p.add(key+".account", "must be 12 digits, like an AWS account id")
	}
	if s.AuditAllowSampleRate < 0 || s.AuditAllowSampleRate > 1 {
		p.add(key+".audit_allow_sample_rate", "must be between 0 and 1")
	}
	samlNames := map[string]int{}
	for i, sp := range s.SAMLProviders {
		k := fmt.Sprintf("%s.saml_providers[%d]", key, i)
		if sp.Name == "" {
			p.add(k+".name", "is required")
		} else if j, dup := samlNames[sp.Name]; dup {
			p.add(k+".name", "duplicate of %s.saml_providers[%d]", key, j)
		} else {
			samlNames[sp.Name] = i
		}
		if sp.MetadataFile == "" {
			p.add(k+".metadata_file", "is required: the IdP's SAML metadata")
		}
	}
	seen := map[string]int{}
	for i, is := range s.Issuers {
		k := fmt.Sprintf("%s.issuers[%d]", key, i)
		if is.Name == "" {
			p.add(k+".name", "is required")
		} else if j, dup := seen[is.Name]; dup {
			p.add(k+".name", "duplicate of %s.issuers[%d]", key, j)
		} else {
			seen[is.Name] = i
		}
		switch is.Preset {
		case "", PresetGitHubActions:
		default:
			p.add(k+".preset", "must be %q or empty", PresetGitHubActions)
		}
		if is.Preset == "" && is.URL == "" {
			p.add(k+".url", "is required without a preset")
		}
		if is.URL != "" {
			if u, err := url.Parse(is.URL); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname()))) {
				p.add(k+".url", "must be an https URL (http only on a loopback host)")
			}
		}
		if len(is.Audiences) == 0 {
			p.add(k+".audiences", "needs at least one audience: a token for another service must not be accepted")
		}
		for j, a := range is.Algorithms {
			if !slices.Contains([]string{"RS256", "ES256", "PS256", "EdDSA"}, a) {
				p.add(fmt.Sprintf("%s.algorithms[%d]", k, j), "must be RS256, ES256, PS256 or EdDSA")
			}
		}
		for claim, tag := range is.ClaimTags {
			if claim == "" || tag == "" || len(tag) > 128 {
				p.add(fmt.Sprintf("%s.claim_tags[%s]", k, claim), "claim and tag key must be non-empty; tag keys up to 128 characters")
			}
		}
		if is.JWKSURL != "" && is.JWKSFile != "" {
			p.add(k+".jwks_file", "set jwks_url or jwks_file, not both")
		}
	}
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
