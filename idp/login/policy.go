package login

import (
	"slices"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

// Authentication context class references Portcullis announces (acr_values_supported).
const (
	// ACRPassword: one factor (a password, or a passkey without user verification).
	ACRPassword = "urn:portcullis:acr:pwd"
	// ACRMFA: two factors, or a passkey with user verification.
	ACRMFA = "urn:portcullis:acr:mfa"
)

// AdminRole always requires a second factor: an administrator's password alone must
// not be enough to change who can do what.
const AdminRole = "admin"

// Policy says when a second factor is required.
type Policy struct {
	Required bool     // everyone
	Groups   []string // members of these groups (case-insensitive names)
	Roles    []string // holders of these built-in roles (admin always)
	// StepUpMaxAge: how old a session's second factor may be for sensitive actions
	// (the account page) before it is asked again.
	StepUpMaxAge time.Duration
}

// Requirement is what a sign-in must achieve.
type Requirement struct {
	MFA    bool
	Reason string // for logs and audit: "policy", "group:eng", "role:admin", "client", "acr"
}

// Require decides whether u, a member of groups, signing in to client c with the
// requested acr_values, needs a second factor.
func (p Policy) Require(u store.User, groups []string, c store.Client, acrValues []string) Requirement {
	switch {
	case p.Required:
		return Requirement{MFA: true, Reason: "policy"}
	case c.RequireMFA:
		return Requirement{MFA: true, Reason: "client"}
	case slices.Contains(acrValues, ACRMFA):
		// OIDC Core §3.1.2.1: acr_values is a voluntary request; we honour it as a
		// step-up rather than ignore it.
		return Requirement{MFA: true, Reason: "acr"}
	}
	for _, r := range u.Roles {
		if r == AdminRole || slices.Contains(p.Roles, r) {
			return Requirement{MFA: true, Reason: "role:" + r}
		}
	}
	for _, g := range groups {
		for _, want := range p.Groups {
			if strings.EqualFold(g, want) {
				return Requirement{MFA: true, Reason: "group:" + g}
			}
		}
	}
	return Requirement{}
}

// HasMFA reports whether the session proved a second factor.
func HasMFA(s store.Session) bool { return !s.MFAAt.IsZero() }

// ACR is the authentication context class a set of methods earns.
func ACR(amr []string) string {
	if slices.Contains(amr, "mfa") {
		return ACRMFA
	}
	return ACRPassword
}

// CombineAMR merges the methods of the first and second factor and adds "mfa"
// (RFC 8176 §2) when they are two independent factors.
func CombineAMR(first, second []string) []string {
	out := slices.Clone(first)
	for _, m := range second {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	if len(first) > 0 && len(second) > 0 && !slices.Contains(out, "mfa") {
		out = append(out, "mfa")
	}
	return out
}

// PasskeyAMR is what a user-name-less passkey sign-in earns: possession of the key
// ("hwk") and, when the authenticator verified the user, that too ("user"), which
// together make two factors.
func PasskeyAMR(factor []string, userVerified bool) []string {
	out := slices.Clone(factor)
	if userVerified {
		if !slices.Contains(out, "user") {
			out = append(out, "user")
		}
		out = append(out, "mfa")
	}
	return out
}
