package configs

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// AdminRoleAlwaysMFA is the built-in role that needs a second factor whatever
// mfa.required_roles says: an administrator's password alone must not be enough to
// change who can do what.
const AdminRoleAlwaysMFA = "admin"

// User verification requirements a relying party may ask of a WebAuthn authenticator
// (WebAuthn Level 2 §5.8.6, UserVerificationRequirement).
func userVerifications() []string { return []string{"preferred", "required", "discouraged"} }

// zeroAAGUID is what an authenticator reports when it does not reveal its model, for
// example with attestation "none" (WebAuthn Level 2 §6.5.1).
const zeroAAGUID = "00000000-0000-0000-0000-000000000000"

// MFAConfig says who needs a second factor and how the second factors behave.
type MFAConfig struct {
	// Required makes every user sign in with a second factor.
	Required bool `yaml:"required"`
	// RequiredGroups: members of these groups (names, compared case-insensitively)
	// need a second factor.
	RequiredGroups []string `yaml:"required_groups"`
	// RequiredRoles: holders of these built-in user roles need a second factor.
	// "admin" always does, listed or not.
	RequiredRoles []string `yaml:"required_roles"`
	// StepUpMaxAge is how old a session's second factor may be before the account
	// page, or a client asking for the MFA acr, asks for it again.
	StepUpMaxAge Duration `yaml:"step_up_max_age"`
	// TOTP configures time-based one-time passwords (RFC 6238).
	TOTP MFATOTPConfig `yaml:"totp"`
	// WebAuthn configures security keys and passkeys.
	WebAuthn MFAWebAuthnConfig `yaml:"webauthn"`
	// MaxFailures is how many failed second-factor attempts for one account, in a
	// row, lock second-factor sign-in for Lockout.
	MaxFailures int `yaml:"max_failures"`
	// Lockout is how long second-factor sign-in stays locked after MaxFailures.
	Lockout Duration `yaml:"lockout"`
}

// MFATOTPConfig configures TOTP.
type MFATOTPConfig struct {
	// Issuer is the name authenticator apps show next to the account, written into
	// the otpauth:// URI as its issuer.
	Issuer string `yaml:"issuer"`
}

// MFAWebAuthnConfig configures WebAuthn. The relying party id is the issuer's host.
type MFAWebAuthnConfig struct {
	// RPDisplayName is the relying party name the browser and authenticator show.
	RPDisplayName string `yaml:"rp_display_name"`
	// UserVerification is what is asked of the authenticator: preferred, required
	// or discouraged.
	UserVerification string `yaml:"user_verification"`
	// AllowedAAGUIDs, when not empty, restricts enrollment to authenticator models
	// with these AAGUIDs (UUID strings). Empty allows any authenticator.
	AllowedAAGUIDs []string `yaml:"allowed_aaguids"`
}

func defaultMFA() MFAConfig {
	return MFAConfig{
		StepUpMaxAge: dur(5 * time.Minute),
		TOTP:         MFATOTPConfig{Issuer: "Portcullis"},
		WebAuthn:     MFAWebAuthnConfig{RPDisplayName: "Portcullis", UserVerification: "preferred"},
		MaxFailures:  5,
		Lockout:      dur(15 * time.Minute),
	}
}

// normalize turns empty lists into nil so equivalent files give equal Configs.
func (m *MFAConfig) normalize() {
	if len(m.RequiredGroups) == 0 {
		m.RequiredGroups = nil
	}
	if len(m.RequiredRoles) == 0 {
		m.RequiredRoles = nil
	}
	if len(m.WebAuthn.AllowedAAGUIDs) == 0 {
		m.WebAuthn.AllowedAAGUIDs = nil
	}
}

func (m MFAConfig) validate(p *problems, key string) {
	validateGroupNames(p, key+".required_groups", m.RequiredGroups)
	validateRoleNames(p, key+".required_roles", m.RequiredRoles)
	// Under a minute the account page would ask again on nearly every click; over an
	// hour a session left open on a shared machine keeps its step-up too long.
	inRange(p, key+".step_up_max_age", m.StepUpMaxAge, dur(time.Minute), dur(time.Hour))
	m.TOTP.validate(p, key+".totp")
	m.WebAuthn.validate(p, key+".webauthn")
	intInRange(p, key+".max_failures", m.MaxFailures, 1, 100)
	inRange(p, key+".lockout", m.Lockout, dur(time.Minute), dur(24*time.Hour))
}

func validateGroupNames(p *problems, key string, names []string) {
	seen := make(map[string]int, len(names))
	for i, n := range names {
		k := fmt.Sprintf("%s[%d]", key, i)
		switch {
		case n == "":
			p.add(k, "must be a group name, not empty")
			continue
		case strings.TrimSpace(n) != n:
			p.add(k, "must not start or end with white space (got %q)", n)
			continue
		case len(n) > 256:
			p.add(k, "must be at most 256 bytes")
			continue
		case strings.IndexFunc(n, unicode.IsControl) >= 0:
			p.add(k, "must not contain control characters")
			continue
		}
		// Group names are unique regardless of case, so "Eng" and "eng" are one group.
		if j, dup := seen[strings.ToLower(n)]; dup {
			p.add(k, "duplicate of %s[%d] (group names ignore case)", key, j)
			continue
		}
		seen[strings.ToLower(n)] = i
	}
}

func validateRoleNames(p *problems, key string, roles []string) {
	seen := make(map[string]int, len(roles))
	for i, r := range roles {
		k := fmt.Sprintf("%s[%d]", key, i)
		if r == "" || len(r) > 128 || strings.IndexFunc(r, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) }) >= 0 {
			p.add(k, "must be a role name: one word of at most 128 bytes (got %q)", r)
			continue
		}
		if j, dup := seen[r]; dup {
			p.add(k, "duplicate of %s[%d]", key, j)
			continue
		}
		seen[r] = i
	}
}

func (t MFATOTPConfig) validate(p *problems, key string) {
	k := key + ".issuer"
	switch {
	case t.Issuer == "":
		p.add(k, "must be set: authenticator apps show it next to the account")
	case strings.TrimSpace(t.Issuer) != t.Issuer:
		p.add(k, "must not start or end with white space (got %q)", t.Issuer)
	case strings.Contains(t.Issuer, ":"):
		// Key Uri Format (google-authenticator wiki): the label is "issuer:account",
		// so a colon in the issuer would be read as the end of it.
		p.add(k, "must not contain a colon: the otpauth:// label uses it to separate issuer and account (got %q)", t.Issuer)
	case len(t.Issuer) > 64:
		p.add(k, "must be at most 64 bytes: authenticator apps cut longer names")
	case strings.IndexFunc(t.Issuer, unicode.IsControl) >= 0:
		p.add(k, "must not contain control characters")
	}
}

func (w MFAWebAuthnConfig) validate(p *problems, key string) {
	k := key + ".rp_display_name"
	switch {
	case w.RPDisplayName == "":
		p.add(k, "must be set: browsers show it when asking for a security key")
	case strings.TrimSpace(w.RPDisplayName) != w.RPDisplayName:
		p.add(k, "must not start or end with white space (got %q)", w.RPDisplayName)
	case len(w.RPDisplayName) > 64:
		// WebAuthn Level 2 §6.4.1: authenticators may truncate names to 64 bytes.
		p.add(k, "must be at most 64 bytes: authenticators may cut longer names")
	case strings.IndexFunc(w.RPDisplayName, unicode.IsControl) >= 0:
		p.add(k, "must not contain control characters")
	}
	oneOf(p, key+".user_verification", w.UserVerification, userVerifications())
	validateAAGUIDs(p, key+".allowed_aaguids", w.AllowedAAGUIDs)
}

func validateAAGUIDs(p *problems, key string, ids []string) {
	seen := make(map[[16]byte]int, len(ids))
	for i, s := range ids {
		k := fmt.Sprintf("%s[%d]", key, i)
		id, ok := parseUUID(s)
		if !ok {
			p.add(k, "must be an AAGUID written as a UUID, e.g. cb69481e-8ff7-4039-93ec-0a2729a154a8 (got %q)", s)
			continue
		}
		if strings.EqualFold(s, zeroAAGUID) {
			// Every authenticator that hides its model reports the zero AAGUID, so
			// allowing it would let any authenticator in and make the list pointless.
			p.add(k, "the all-zero AAGUID is what authenticators that hide their model send; allowing it allows them all")
			continue
		}
		if j, dup := seen[id]; dup {
			p.add(k, "duplicate of %s[%d]", key, j)
			continue
		}
		seen[id] = i
	}
}

// parseUUID reads the canonical 8-4-4-4-12 hexadecimal form, in either case.
func parseUUID(s string) ([16]byte, bool) {
	var out [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return out, false
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(out[:], []byte(h)); err != nil {
		return out, false
	}
	return out, true
}

// AAGUIDs returns AllowedAAGUIDs as bytes, the form authenticator data carries
// (WebAuthn Level 2 §6.5.1). Call it only on a validated Config; entries that do not
// parse are left out. Empty means any authenticator is allowed.
func (w MFAWebAuthnConfig) AAGUIDs() [][16]byte {
	out := make([][16]byte, 0, len(w.AllowedAAGUIDs))
	for _, s := range w.AllowedAAGUIDs {
		if id, ok := parseUUID(s); ok {
			out = append(out, id)
		}
	}
	return out
}

// RolesRequiringMFA returns RequiredRoles with "admin" added when it is missing, the
// set the sign-in policy should use.
func (m MFAConfig) RolesRequiringMFA() []string {
	out := append([]string(nil), m.RequiredRoles...)
	for _, r := range out {
		if r == AdminRoleAlwaysMFA {
			return out
		}
	}
	return append(out, AdminRoleAlwaysMFA)
}
