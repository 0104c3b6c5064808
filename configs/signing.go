package configs

import "time"

// Signing algorithms accepted in signing.algorithm (RFC 7518 §3.1, RFC 8037 §3.1).
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
	AlgEdDSA = "EdDSA"
)

// signingAlgorithms lists them; RS256 first because OpenID Connect Core 1.0 §15.1
// requires every relying party to support it.
func signingAlgorithms() []string { return []string{AlgRS256, AlgES256, AlgEdDSA} }

// SigningConfig configures the keys that sign ID tokens, JWT access tokens and
// other assertions.
type SigningConfig struct {
	// Algorithm is the JWS "alg" of new keys. Case-sensitive, as in JWS headers.
	Algorithm string `yaml:"algorithm"`
	// RotationPeriod is how long a key signs before the next one takes over. The
	// old key stays in the JWKS until tokens it signed have expired.
	RotationPeriod Duration `yaml:"rotation_period"`
	// PublishAhead is how long a new key is published in the JWKS before it
	// signs, so relying parties that cache the JWKS know it before they see it.
	PublishAhead Duration `yaml:"publish_ahead"`
}

func defaultSigning() SigningConfig {
	return SigningConfig{
		Algorithm:      AlgRS256,
		RotationPeriod: dur(720 * time.Hour),
		PublishAhead:   dur(24 * time.Hour),
	}
}

func (s SigningConfig) validate(p *problems, key string) {
	oneOf(p, key+".algorithm", s.Algorithm, signingAlgorithms())
	inRange(p, key+".rotation_period", s.RotationPeriod, dur(time.Hour), dur(8760*time.Hour))
	switch {
	case s.PublishAhead <= 0:
		p.add(key+".publish_ahead", "must be greater than 0 (got %s)", s.PublishAhead)
	case s.PublishAhead >= s.RotationPeriod:
		// Otherwise the next key would have to be published before the current one
		// started signing.
		p.add(key+".publish_ahead", "must be less than rotation_period (%s), got %s", s.RotationPeriod, s.PublishAhead)
	}
}
