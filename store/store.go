package store

import (
	"encoding/json"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap them with context; callers test with errors.Is.
var (
	// ErrNotFound: no record with that key.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a unique key (id, userName, group name, client id) is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict: an optimistic-concurrency write carried a stale Version.
	ErrConflict = errors.New("version conflict")
	// ErrAlreadyUsed: a single-use record (auth code, refresh token) was presented again.
	ErrAlreadyUsed = errors.New("already used")
	// ErrExpired: the record exists but its lifetime is over.
	ErrExpired = errors.New("expired")
	// ErrSchemaVersion: the data file was written by a newer schema than this binary knows.
	ErrSchemaVersion = errors.New("unsupported schema version")
)

// SchemaVersion is the layout version written to the meta bucket / table.
const SchemaVersion = 1

// Meta is embedded in every versioned entity.
//
// Version starts at 1 on create and is incremented by every successful update;
// an update whose Version differs from the stored one fails with ErrConflict.
type Meta struct {
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"`
}

// User is a person (or service identity) in the directory.
type User struct {
	ID          string   `json:"id"`
	UserName    string   `json:"user_name"` // unique, compared case-insensitively
	DisplayName string   `json:"display_name,omitempty"`
	Emails      []string `json:"emails,omitempty"`
	Active      bool     `json:"active"`
	ExternalID  string   `json:"external_id,omitempty"`
	// Source is "local", a connector id or a SCIM client id.
	Source     string            `json:"source,omitempty"`
	Roles      []string          `json:"roles,omitempty"` // built-in roles such as "admin"
	Attributes map[string]string `json:"attributes,omitempty"`
	// LastLoginAt is the last successful sign-in (credential report).
	LastLoginAt time.Time `json:"last_login_at,omitzero"`
	Meta
}

// Group is a named set of users.
type Group struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"display_name"` // unique, compared case-insensitively
	ExternalID  string   `json:"external_id,omitempty"`
	Source      string   `json:"source,omitempty"`
	Members     []string `json:"members,omitempty"` // user ids, sorted, no duplicates
	Meta
}

// Credential types.
const (
	CredentialPassword = "password"
	CredentialTOTP     = "totp"
	CredentialWebAuthn = "webauthn"
	CredentialRecovery = "recovery"
)

// Credential is one secret a user proves possession of. (UserID, Type, ID) is the key;
// a password credential uses ID "password".
type Credential struct {
	UserID string `json:"user_id"`
	Type   string `json:"type"`
	ID     string `json:"id"`
	// Secret is a hash (passwords: an argon2id PHC string) or sealed bytes; never plaintext.
	Secret []byte `json:"secret"`
	// MustChange forces a password change at next sign-in.
	MustChange bool              `json:"must_change,omitempty"`
	Data       map[string]string `json:"data,omitempty"` // method-specific, non-secret
	Meta
}

// ClientSecret is the SHA-256 digest of a server-generated client secret.
type ClientSecret struct {
	ID        string    `json:"id"`
	Digest    []byte    `json:"digest"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"` // zero: no expiry
}

// Access token formats.
const (
	AccessTokenJWT    = "jwt"
	AccessTokenOpaque = "opaque"
)

// Client is an OAuth 2.0 / OIDC client.
type Client struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Public clients have no secret and must use PKCE S256.
	Public                 bool           `json:"public"`
	Secrets                []ClientSecret `json:"secrets,omitempty"` // at most two live at once
	RedirectURIs           []string       `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs []string       `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes             []string       `json:"grant_types,omitempty"`
	Scopes                 []string       `json:"scopes,omitempty"`              // allowed scopes beyond openid
	AccessTokenFormat      string         `json:"access_token_format,omitempty"` // jwt (default) | opaque
	AccessTokenLifetime    time.Duration  `json:"access_token_lifetime,omitempty"`
	IDTokenLifetime        time.Duration  `json:"id_token_lifetime,omitempty"`
	RefreshTokenLifetime   time.Duration  `json:"refresh_token_lifetime,omitempty"`
	// Native clients may use loopback redirect URIs with any port (RFC 8252 §7.3).
	Native bool `json:"native,omitempty"`
	// RequireMFA: users signing in to this client must pass a second factor.
	RequireMFA bool `json:"require_mfa,omitempty"`
	// Source is who manages the client: "" (an administrator) or "declarative".
	Source string `json:"source,omitempty"`
	Meta
}

// AuthRequest is an authorization request in flight between /authorize and the code.
type AuthRequest struct {
	ID                  string         `json:"id"`
	ClientID            string         `json:"client_id"`
	RedirectURI         string         `json:"redirect_uri"`
	State               string         `json:"state,omitempty"`
	Nonce               string         `json:"nonce,omitempty"`
	Scopes              []string       `json:"scopes,omitempty"`
	ResponseType        string         `json:"response_type"`
	ResponseMode        string         `json:"response_mode,omitempty"`
	CodeChallenge       string         `json:"code_challenge,omitempty"`
	CodeChallengeMethod string         `json:"code_challenge_method,omitempty"`
	Prompt              []string       `json:"prompt,omitempty"`
	MaxAge              *time.Duration `json:"max_age,omitempty"`
	LoginHint           string         `json:"login_hint,omitempty"`
	ACRValues           []string       `json:"acr_values,omitempty"`
	// Set when the user has authenticated.
	Done      bool      `json:"done"`
	UserID    string    `json:"user_id,omitempty"`
	SessionID string    `json:"session_id,omitempty"`
	AuthTime  time.Time `json:"auth_time,omitzero"`
	AMR       []string  `json:"amr,omitempty"`
	ACR       string    `json:"acr,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	Meta
}

// AuthCode maps the digest of an issued code to its auth request.
type AuthCode struct {
	Digest        string    `json:"digest"` // hex SHA-256 of the code
	AuthRequestID string    `json:"auth_request_id"`
	ClientID      string    `json:"client_id"`
	ExpiresAt     time.Time `json:"expires_at"`
	Used          bool      `json:"used"`
	UsedAt        time.Time `json:"used_at,omitzero"`
	CreatedAt     time.Time `json:"created_at"`
}

// RefreshToken is stored by the digest of the token; the raw token is never stored.
type RefreshToken struct {
	ID        string    `json:"id"` // hex SHA-256 of the raw token
	FamilyID  string    `json:"family_id"`
	ClientID  string    `json:"client_id"`
	UserID    string    `json:"user_id"`
	SessionID string    `json:"session_id,omitempty"`
	Scopes    []string  `json:"scopes,omitempty"`
	Audience  []string  `json:"audience,omitempty"`
	AMR       []string  `json:"amr,omitempty"`
	ACR       string    `json:"acr,omitempty"`
	AuthTime  time.Time `json:"auth_time,omitzero"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// FamilyExpiresAt bounds the whole family (absolute lifetime).
	FamilyExpiresAt time.Time `json:"family_expires_at,omitzero"`
	ConsumedAt      time.Time `json:"consumed_at,omitzero"`
	Revoked         bool      `json:"revoked"`
}

// Session is a browser SSO session.
type Session struct {
	ID       string    `json:"id"`
	UserID   string    `json:"user_id"`
	AuthTime time.Time `json:"auth_time"`
	// MFAAt is when a second factor was last verified in this session (zero: never);
	// step-up and the account page's re-check compare against it.
	MFAAt     time.Time `json:"mfa_at,omitzero"`
	UserAgent string    `json:"user_agent,omitempty"`
	SourceIP  string    `json:"source_ip,omitempty"`
	AMR       []string  `json:"amr,omitempty"`
	ACR       string    `json:"acr,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Revoked   bool      `json:"revoked"`
}

// Signing key states.
const (
	KeyNext    = "next"    // published in JWKS, not yet signing
	KeyActive  = "active"  // signing
	KeyRetired = "retired" // published until NotAfter, no longer signing
)

// SigningKey is a token-signing key. Private is sealed; the store never sees it in clear.
type SigningKey struct {
	ID          string    `json:"id"` // kid
	Algorithm   string    `json:"alg"`
	Private     []byte    `json:"private"` // sealed PKCS#8
	Public      []byte    `json:"public"`  // PKIX DER
	State       string    `json:"state"`
	ActivatedAt time.Time `json:"activated_at,omitzero"`
	RetiredAt   time.Time `json:"retired_at,omitzero"`
	// NotAfter: when a retired key may leave the JWKS (every token it signed has expired).
	NotAfter time.Time `json:"not_after,omitzero"`
	Meta
}

// Revocation marks a token (by jti), a refresh family ("family:<id>") or any other key
// as revoked until Until, after which the record may be swept.
type Revocation struct {
	Key   string    `json:"key"`
	Until time.Time `json:"until"`
}

// APIToken is a bearer credential for the admin API, stored by SHA-256 digest.
type APIToken struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Digest    []byte    `json:"digest"`
	Roles     []string  `json:"roles"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Revoked   bool      `json:"revoked"`
}

// AuditEvent is one entry in the audit log. Seq is assigned by the store.
type AuditEvent struct {
	Seq       uint64            `json:"seq"`
	Time      time.Time         `json:"time"`
	Actor     string            `json:"actor"`
	Action    string            `json:"action"`
	Target    string            `json:"target,omitempty"`
	Outcome   string            `json:"outcome"` // success | failure | denied
	Reason    string            `json:"reason,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	SourceIP  string            `json:"source_ip,omitempty"`
	Details   map[string]string `json:"details,omitempty"`
	PrevHash  []byte            `json:"prev_hash,omitempty"`
	Hash      []byte            `json:"hash,omitempty"`
}

// Role session limits (IAM's MaxSessionDuration bounds).
const (
	MinRoleSessionDuration     = 15 * time.Minute
	MaxRoleSessionDuration     = 12 * time.Hour
	DefaultRoleSessionDuration = time.Hour
)

// RoleSession is one set of temporary role credentials issued by the STS. It is
// stored under its access key id; the secret access key is kept sealed (additional data
// "role_sessions/" + ID), never in clear.
type RoleSession struct {
	// ID is the access key id (PCIA...).
	ID     string `json:"id"`
	RoleID string `json:"role_id"`
	// RoleARN is the role's ARN when the session was issued.
	RoleARN     string `json:"role_arn"`
	SessionName string `json:"session_name"`
	// Subject and Issuer identify the federated identity the role was assumed with
	// (the web identity token's sub and iss).
	Subject string `json:"subject,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
	// SourceIdentity is carried into the session token and never changes.
	SourceIdentity string `json:"source_identity,omitempty"`
	// SecretSealed is the sealed secret access key.
	SecretSealed []byte `json:"secret_sealed"`
	// SessionPolicyDigest is the hex SHA-256 of SessionPolicy ("" without one).
	SessionPolicyDigest string `json:"session_policy_digest,omitempty"`
	// SessionPolicy is the inline session policy as compacted JSON; empty when none
	// was passed.
	SessionPolicy json.RawMessage `json:"session_policy,omitempty"`
	// PolicyARNs are the managed session policies passed with the request.
	PolicyARNs []string          `json:"policy_arns,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	IssuedAt   time.Time         `json:"issued_at"`
	ExpiresAt  time.Time         `json:"expires_at"`
	Revoked    bool              `json:"revoked"`
}

// MaxPolicyVersions is how many versions of a managed policy are kept, as in IAM.
const MaxPolicyVersions = 5

// Role is an assumable identity with a trust policy and permission policies.
type Role struct {
	ID string `json:"id"`
	// ARN is arn:portcullis:iam::<account>:role<Path><Name>; unique.
	ARN string `json:"arn"`
	// Name is unique, compared case-insensitively (as IAM does).
	Name        string `json:"name"`
	Path        string `json:"path,omitempty"` // "/" or "/a/b/"
	Description string `json:"description,omitempty"`
	// TrustPolicy says who may assume the role (IAM JSON, stored compacted).
	TrustPolicy json.RawMessage `json:"trust_policy,omitempty"`
	// ManagedPolicies are names of attached ManagedPolicy records; each must exist.
	ManagedPolicies []string                   `json:"managed_policies,omitempty"`
	InlinePolicies  map[string]json.RawMessage `json:"inline_policies,omitempty"`
	// PermissionBoundary names a ManagedPolicy that caps the role's permissions; optional.
	PermissionBoundary string        `json:"permission_boundary,omitempty"`
	MaxSessionDuration time.Duration `json:"max_session_duration,omitempty"`
	RequireMFA         bool          `json:"require_mfa,omitempty"`
	// Source is who manages the role: "" (an administrator) or "declarative".
	Source string `json:"source,omitempty"`
	Meta
}

// PolicyVersion is one immutable document of a managed policy.
type PolicyVersion struct {
	Version   int             `json:"version"`
	Document  json.RawMessage `json:"document"`
	CreatedAt time.Time       `json:"created_at"`
}

// ManagedPolicy is a named, versioned permission policy that roles attach. Name is its
// key, unique case-insensitively; it cannot be renamed.
type ManagedPolicy struct {
	Name           string          `json:"name"`
	Description    string          `json:"description,omitempty"`
	DefaultVersion int             `json:"default_version"`
	Versions       []PolicyVersion `json:"versions"` // ascending by Version
	Source         string          `json:"source,omitempty"`
	Meta
}

// Default returns the version in force.
func (p ManagedPolicy) Default() (PolicyVersion, bool) {
	for _, v := range p.Versions {
		if v.Version == p.DefaultVersion {
			return v, true
		}
	}
	return PolicyVersion{}, false
}

// Role mapping sources with a special meaning; any other value is a connector id or a
// SCIM client id.
const (
	MappingSourceLocal = "local"
	MappingSourceAny   = "*"
)

// MappingMatch is what a RoleMapping looks for. Group and Claim may be combined; both
// must then match.
type MappingMatch struct {
	// Group is a group name or a glob with * and ?, compared case-insensitively.
	Group string `json:"group,omitempty"`
	// Claim names an upstream claim; Value is a glob one of its values must match.
	Claim string `json:"claim,omitempty"`
	Value string `json:"value,omitempty"`
}

// RoleMapping grants roles to identities from a source that match a condition.
type RoleMapping struct {
	ID   string `json:"id"`
	Name string `json:"name"` // unique, compared case-insensitively
	// Source is "local", a connector id, a SCIM client id, or "*" for any.
	Source      string       `json:"source"`
	Match       MappingMatch `json:"match"`
	RequireMFA  bool         `json:"require_mfa,omitempty"`
	SourceCIDRs []string     `json:"source_cidrs,omitempty"`
	Roles       []string     `json:"roles"` // role names
	// ManagedBy is who manages the rule: "" (an administrator) or "declarative". (Source
	// already names where the matched identities come from.)
	ManagedBy string `json:"managed_by,omitempty"`
	Meta
}

// Provider kinds: federation settings managed at run time (admin API, apply files)
// beside those in the configuration file.
const (
	// ProviderWebIdentity is a trusted web-identity (OIDC token) issuer for the STS.
	ProviderWebIdentity = "web_identity_issuer"
	// ProviderSAML is a SAML identity provider whose assertions the STS exchanges.
	ProviderSAML = "saml_provider"
)

// Provider is one named federation setting of some Kind. Config is the kind's own
// settings as JSON, in the same shape as the configuration file's section for that
// kind; the service that uses it validates it before it is stored.
type Provider struct {
	Kind   string          `json:"kind"`
	Name   string          `json:"name"` // unique per kind, compared case-insensitively
	Config json.RawMessage `json:"config"`
	// Source is "api", "apply" or another marker of who manages the record.
	Source string `json:"source,omitempty"`
	Meta
}
