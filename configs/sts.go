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
	Name string `yaml:"name" json:"name,omitempty"`
	// MetadataFile holds the IdP's SAML metadata (EntityDescriptor with signing certs).
	// Configuration file only: the admin API and apply files carry MetadataXML.
	MetadataFile string `yaml:"metadata_file" json:"metadata_file,omitempty"`
	// MetadataXML is the IdP's SAML metadata itself; set it or MetadataFile.
	MetadataXML string `yaml:"metadata_xml" json:"metadata_xml,omitempty"`
	// Audience must appear in the assertion's AudienceRestriction (default <issuer>/sts).
	Audience string `yaml:"audience" json:"audience,omitempty"`
	// Recipient is the exact SubjectConfirmationData Recipient (default <issuer>/sts).
	Recipient string `yaml:"recipient" json:"recipient,omitempty"`
	// AllowSHA1 accepts RSA-SHA1 signatures (refused by default).
	AllowSHA1 bool `yaml:"allow_sha1"`
}

// TrustedIssuerConfig is one trusted web-identity issuer.
type TrustedIssuerConfig struct {
	// Name identifies the issuer in logs and errors.
	Name string `yaml:"name" json:"name,omitempty"`
	// Preset fills URL and algorithms for a known issuer: "github-actions".
	Preset string `yaml:"preset" json:"preset,omitempty"`
	// URL is the exact iss of its tokens (https; http only on loopback, for tests).
	URL string `yaml:"url" json:"url,omitempty"`
	// Audiences: a token's aud must name one of these. Required.
	Audiences []string `yaml:"audiences" json:"audiences,omitempty"`
	// Algorithms allowed for its signatures: RS256, ES256, PS256, EdDSA (never none or
	// HMAC). Default: the preset's, else RS256 and ES256.
	Algorithms []string `yaml:"algorithms" json:"algorithms,omitempty"`
	// JWKSURL fetches the keys from here instead of discovery.
	JWKSURL string `yaml:"jwks_url" json:"jwks_url,omitempty"`
	// JWKSFile holds the keys (air-gapped): nothing is fetched. Configuration file
	// only: the admin API and apply files carry JWKS.
	JWKSFile string `yaml:"jwks_file" json:"jwks_file,omitempty"`
	// JWKS is the key set itself as JSON text (air-gapped); set it or JWKSFile.
	JWKS string `yaml:"jwks" json:"jwks,omitempty"`
	// ReplayProtection refuses a token whose jti was already exchanged.
	ReplayProtection bool `yaml:"replay_protection" json:"replay_protection,omitempty"`
	// ClaimTags turns token claims into session tags: claim name → tag key. The tags are
	// condition keys (portcullis:PrincipalTag/<key>) for the session's decisions; the
	// trust policy must allow sts:TagSession.
	ClaimTags map[string]string `yaml:"claim_tags" json:"claim_tags,omitempty"`
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
		if j, dup := samlNames[sp.Name]; dup && sp.Name != "" {
			p.add(k+".name", "duplicate of %s.saml_providers[%d]", key, j)
		} else {
			samlNames[sp.Name] = i
		}
		sp.check(p, k, true)
	}
	seen := map[string]int{}
	for i, is := range s.Issuers {
		k := fmt.Sprintf("%s.issuers[%d]", key, i)
		if j, dup := seen[is.Name]; dup && is.Name != "" {
			p.add(k+".name", "duplicate of %s.issuers[%d]", key, j)
		} else {
			seen[is.Name] = i
		}
		is.check(p, k, true)
	}
}

// Check validates a SAML provider managed at run time (admin API, apply files), where
// settings that read server files are refused. Errors name the field.
func (sp SAMLProviderConfig) Check() error {
	var p problems
	sp.check(&p, "", false)
	return p.err()
}

func (sp SAMLProviderConfig) check(p *problems, k string, fromFile bool) {
	if sp.Name == "" {
		p.add(join(k, "name"), "is required")
	}
	switch {
	case !fromFile && sp.MetadataFile != "":
		p.add(join(k, "metadata_file"), "is only allowed in the configuration file; send the metadata itself in metadata_xml")
	case sp.MetadataFile != "" && sp.MetadataXML != "":
		p.add(join(k, "metadata_xml"), "set metadata_file or metadata_xml, not both")
	case sp.MetadataFile == "" && sp.MetadataXML == "" && fromFile:
		p.add(join(k, "metadata_file"), "is required: the IdP's SAML metadata (or metadata_xml, the metadata itself)")
	case sp.MetadataFile == "" && sp.MetadataXML == "":
		p.add(join(k, "metadata_xml"), "is required: the IdP's SAML metadata")
	}
}

// Check validates a trusted issuer managed at run time (admin API, apply files),
// where settings that read server files are refused. Errors name the field.
func (is TrustedIssuerConfig) Check() error {
	var p problems
	is.check(&p, "", false)
	return p.err()
}

func (is TrustedIssuerConfig) check(p *problems, k string, fromFile bool) {
	if is.Name == "" {
		p.add(join(k, "name"), "is required")
	}
	switch is.Preset {
	case "", PresetGitHubActions:
	default:
		p.add(join(k, "preset"), "must be %q or empty", PresetGitHubActions)
	}
	if is.Preset == "" && is.URL == "" {
		p.add(join(k, "url"), "is required without a preset")
	}
	if is.URL != "" {
		if u, err := url.Parse(is.URL); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname()))) {
			p.add(join(k, "url"), "must be an https URL (http only on a loopback host)")
		}
	}
	if len(is.Audiences) == 0 {
		p.add(join(k, "audiences"), "needs at least one audience: a token for another service must not be accepted")
	}
	for j, a := range is.Algorithms {
		if !slices.Contains([]string{"RS256", "ES256", "PS256", "EdDSA"}, a) {
			p.add(fmt.Sprintf("%s[%d]", join(k, "algorithms"), j), "must be RS256, ES256, PS256 or EdDSA")
		}
	}
	for claim, tag := range is.ClaimTags {
		if claim == "" || tag == "" || len(tag) > 128 {
			p.add(fmt.Sprintf("%s[%s]", join(k, "claim_tags"), claim), "claim and tag key must be non-empty; tag keys up to 128 characters")
		}
	}
	if !fromFile && is.JWKSFile != "" {
		p.add(join(k, "jwks_file"), "is only allowed in the configuration file; send the key set itself in jwks")
	}
	// The second key source given is the one named as wrong.
	var first string
	for _, src := range []struct{ field, value string }{{"jwks_url", is.JWKSURL}, {"jwks_file", is.JWKSFile}, {"jwks", is.JWKS}} {
		switch {
		case src.value == "":
		case first == "":
			first = src.field
		default:
			p.add(join(k, src.field), "set one of jwks_url, jwks_file and jwks, not both %s and %s", first, src.field)
		}
	}
}

// join appends field to the key path prefix k.
func join(k, field string) string {
	if k == "" {
		return field
	}
	return k + "." + field
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
