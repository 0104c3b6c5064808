package store

import (
	"context"
	"time"
)

// Users is the user aggregate.
type Users interface {
	// CreateUser stores u with Version 1 and fresh timestamps; an empty ID is filled with a
	// random one. ErrAlreadyExists when the ID or the userName (case-insensitive) is taken.
	CreateUser(ctx context.Context, u User) (User, error)
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserByName looks up by userName, case-insensitively.
	GetUserByName(ctx context.Context, userName string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// UpdateUser replaces the stored user when u.Version equals the stored Version
	// (else ErrConflict) and returns it with Version+1.
	UpdateUser(ctx context.Context, u User) (User, error)
	// DeleteUser removes the user and, in the same transaction, their credentials,
	// group memberships, browser sessions and refresh tokens.
	DeleteUser(ctx context.Context, id string) error
}

// Groups is the group aggregate, including memberships.
type Groups interface {
	CreateGroup(ctx context.Context, g Group) (Group, error)
	GetGroup(ctx context.Context, id string) (Group, error)
	// GetGroupByName looks up by displayName, case-insensitively.
	GetGroupByName(ctx context.Context, name string) (Group, error)
	ListGroups(ctx context.Context) ([]Group, error)
	// UpdateGroup is optimistic like UpdateUser. Members must name existing users
	// (else ErrNotFound).
	UpdateGroup(ctx context.Context, g Group) (Group, error)
	DeleteGroup(ctx context.Context, id string) error
	// AddMember / RemoveMember are idempotent and bump the group's Version when they change it.
	AddMember(ctx context.Context, groupID, userID string) error
	RemoveMember(ctx context.Context, groupID, userID string) error
	// GroupsOfUser returns the groups the user is a member of, sorted by displayName.
	GroupsOfUser(ctx context.Context, userID string) ([]Group, error)
}

// Credentials holds per-user secrets.
type Credentials interface {
	// PutCredential creates or replaces (UserID, Type, ID). The user must exist (ErrNotFound).
	// When c.Version is non-zero it must match the stored Version (ErrConflict).
	PutCredential(ctx context.Context, c Credential) (Credential, error)
	GetCredential(ctx context.Context, userID, typ, id string) (Credential, error)
	ListCredentials(ctx context.Context, userID string) ([]Credential, error)
	DeleteCredential(ctx context.Context, userID, typ, id string) error
}

// Clients is the OAuth client registry.
type Clients interface {
	CreateClient(ctx context.Context, c Client) (Client, error)
	GetClient(ctx context.Context, id string) (Client, error)
	ListClients(ctx context.Context) ([]Client, error)
	UpdateClient(ctx context.Context, c Client) (Client, error)
	DeleteClient(ctx context.Context, id string) error
}

// AuthRequests are authorization requests between /authorize and the code exchange.
type AuthRequests interface {
	CreateAuthRequest(ctx context.Context, r AuthRequest) (AuthRequest, error)
	// GetAuthRequest returns ErrNotFound for unknown or expired requests.
	GetAuthRequest(ctx context.Context, id string) (AuthRequest, error)
	UpdateAuthRequest(ctx context.Context, r AuthRequest) (AuthRequest, error)
	DeleteAuthRequest(ctx context.Context, id string) error
}

// AuthCodes are single-use authorization codes, stored by digest.
type AuthCodes interface {
	// SaveAuthCode stores c; ErrAlreadyExists when the auth request already has a code.
	SaveAuthCode(ctx context.Context, c AuthCode) error
	// ConsumeAuthCode atomically marks the code used and returns it. A second call returns
	// the record together with ErrAlreadyUsed (so the caller can revoke what the code
	// issued); an expired code returns ErrExpired; an unknown one ErrNotFound.
	ConsumeAuthCode(ctx context.Context, digest string, now time.Time) (AuthCode, error)
}

// RefreshTokens are rotating refresh tokens grouped in families.
type RefreshTokens interface {
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	GetRefreshToken(ctx context.Context, id string) (RefreshToken, error)
	// RotateRefreshToken atomically consumes oldID and stores next (same family).
	// If oldID was already consumed or revoked, the whole family is revoked in the same
	// transaction and ErrAlreadyUsed is returned; next is not stored. Inside Atomic, an fn
	// that returns that error rolls the revocation back with everything else: call the
	// Store's method, not the Tx's, when the revocation must survive.
	RotateRefreshToken(ctx context.Context, oldID string, next RefreshToken, now time.Time) error
	// RevokeRefreshFamily marks every token of the family revoked.
	RevokeRefreshFamily(ctx context.Context, familyID string) error
	// RevokeUserRefreshTokens revokes every refresh token of the user; returns the families.
	RevokeUserRefreshTokens(ctx context.Context, userID string) ([]string, error)
}

// Sessions are browser SSO sessions.
type Sessions interface {
	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, id string) (Session, error)
	RevokeSession(ctx context.Context, id string) error
	RevokeUserSessions(ctx context.Context, userID string) error
	// ListUserSessions returns the user's sessions that are neither revoked nor expired
	// at now, newest first.
	ListUserSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// UpdateSession replaces a live session's MFAAt / AMR / ACR (step-up).
	UpdateSession(ctx context.Context, s Session) error
}

// SigningKeys persists token-signing keys (private parts sealed by the caller).
type SigningKeys interface {
	CreateSigningKey(ctx context.Context, k SigningKey) (SigningKey, error)
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	UpdateSigningKey(ctx context.Context, k SigningKey) (SigningKey, error)
	DeleteSigningKey(ctx context.Context, id string) error
}

// Revocations is the set of revoked token ids and families, kept until they expire.
type Revocations interface {
	Revoke(ctx context.Context, r Revocation) error
	IsRevoked(ctx context.Context, key string) (bool, error)
}

// APITokens are admin API bearer tokens.
type APITokens interface {
	CreateAPIToken(ctx context.Context, t APIToken) (APIToken, error)
	// GetAPITokenByDigest returns ErrNotFound for unknown digests.
	GetAPITokenByDigest(ctx context.Context, digest []byte) (APIToken, error)
	ListAPITokens(ctx context.Context) ([]APIToken, error)
	RevokeAPIToken(ctx context.Context, id string) error
}

// AuditLog is the append-only event log.
type AuditLog interface {
	// AppendAudit assigns the next Seq and stores e.
	AppendAudit(ctx context.Context, e AuditEvent) (AuditEvent, error)
	// ListAudit returns up to limit events with Seq > after, in order.
	ListAudit(ctx context.Context, after uint64, limit int) ([]AuditEvent, error)
}

// Roles is the role aggregate.
type Roles interface {
	// CreateRole stores r with Version 1; an empty ID is filled with a random one.
	// ErrAlreadyExists when the ID, the name (case-insensitive) or the ARN is taken;
	// ErrNotFound when an attached managed policy or the boundary does not exist.
	CreateRole(ctx context.Context, r Role) (Role, error)
	GetRole(ctx context.Context, id string) (Role, error)
	// GetRoleByName looks up by name, case-insensitively.
	GetRoleByName(ctx context.Context, name string) (Role, error)
	GetRoleByARN(ctx context.Context, arn string) (Role, error)
	// ListRoles returns every role, sorted by name (case-insensitive).
	ListRoles(ctx context.Context) ([]Role, error)
	// UpdateRole is optimistic like UpdateUser, with CreateRole's uniqueness and
	// reference checks.
	UpdateRole(ctx context.Context, r Role) (Role, error)
	DeleteRole(ctx context.Context, id string) error
}

// ManagedPolicies are named, versioned permission policies. At most MaxPolicyVersions
// versions are kept; version numbers only grow.
type ManagedPolicies interface {
	// CreateManagedPolicy stores p with exactly one version (p.Versions[0].Document),
	// numbered 1 and made the default. ErrAlreadyExists when the name is taken
	// (case-insensitive).
	CreateManagedPolicy(ctx context.Context, p ManagedPolicy) (ManagedPolicy, error)
	// GetManagedPolicy looks up by name, case-insensitively.
	GetManagedPolicy(ctx context.Context, name string) (ManagedPolicy, error)
	// ListManagedPolicies returns every policy, sorted by name (case-insensitive).
	ListManagedPolicies(ctx context.Context) ([]ManagedPolicy, error)
	// UpdateManagedPolicy replaces Description and Source when p.Version matches (else
	// ErrConflict); versions change only through the two methods below.
	UpdateManagedPolicy(ctx context.Context, p ManagedPolicy) (ManagedPolicy, error)
	// CreatePolicyVersion adds doc as the next version, made the default when
	// setDefault. When MaxPolicyVersions are already kept, the oldest version that is not
	// the default is dropped in the same write. ifVersion, when non-zero, must equal the
	// policy's Version (else ErrConflict).
	CreatePolicyVersion(ctx context.Context, name string, ifVersion int64, doc []byte, setDefault bool) (ManagedPolicy, error)
	// SetDefaultPolicyVersion makes a kept version the default (a rollback is one call).
	// ErrNotFound when the version is not kept; ifVersion as for CreatePolicyVersion.
	SetDefaultPolicyVersion(ctx context.Context, name string, ifVersion int64, version int) (ManagedPolicy, error)
	// DeleteManagedPolicy removes the policy with all its versions. While a role attaches
	// it or uses it as permission boundary it fails with ErrConflict, naming the role.
	DeleteManagedPolicy(ctx context.Context, name string) error
}

// RoleMappings are the rules that grant roles to users and upstream identities.
type RoleMappings interface {
	// CreateRoleMapping stores m with Version 1; an empty ID is filled with a random one.
	// ErrAlreadyExists when the ID or the name (case-insensitive) is taken.
	CreateRoleMapping(ctx context.Context, m RoleMapping) (RoleMapping, error)
	GetRoleMapping(ctx context.Context, id string) (RoleMapping, error)
	// GetRoleMappingByName looks up by name, case-insensitively.
	GetRoleMappingByName(ctx context.Context, name string) (RoleMapping, error)
	// ListRoleMappings returns every rule, sorted by name (case-insensitive).
	ListRoleMappings(ctx context.Context) ([]RoleMapping, error)
	// UpdateRoleMapping is optimistic like UpdateUser.
	UpdateRoleMapping(ctx context.Context, m RoleMapping) (RoleMapping, error)
	DeleteRoleMapping(ctx context.Context, id string) error
}

// RoleSessions are temporary role credentials issued by the STS, one record per
// access key id. Issuing is the hot path; expired sessions leave with DeleteExpired.
type RoleSessions interface {
	// CreateRoleSession stores s. ID, RoleID, SecretSealed and ExpiresAt are required;
	// a zero IssuedAt is set to the store's clock. ErrAlreadyExists when the ID is taken.
	CreateRoleSession(ctx context.Context, s RoleSession) error
	// GetRoleSession returns the session as stored, revoked or expired alike (until
	// swept); the caller judges it.
	GetRoleSession(ctx context.Context, id string) (RoleSession, error)
	// RevokeRoleSession marks the session revoked; revoking twice is not an error.
	// ErrNotFound for an unknown id.
	RevokeRoleSession(ctx context.Context, id string) error
	// ListRoleSessions returns every stored session of the role, revoked and expired
	// ones included until they are swept, newest (IssuedAt) first.
	ListRoleSessions(ctx context.Context, roleID string) ([]RoleSession, error)
	// FindRoleSessions returns the stored sessions f selects, newest (IssuedAt) first,
	// never nil. With f.RoleID it reads that role's sessions only; without, it scans
	// every stored session, which is for administration, not a request path.
	FindRoleSessions(ctx context.Context, f RoleSessionFilter) ([]RoleSession, error)
}

// RoleSessionFilter selects role sessions; every non-zero field must match.
type RoleSessionFilter struct {
	RoleID string
	// Subject is compared exactly with RoleSession.Subject.
	Subject string
	// LiveAt keeps only the sessions that are neither revoked nor expired at this time.
	LiveAt time.Time
}

// Matches reports whether f selects s.
func (f RoleSessionFilter) Matches(s RoleSession) bool {
	switch {
	case f.RoleID != "" && s.RoleID != f.RoleID,
		f.Subject != "" && s.Subject != f.Subject,
		!f.LiveAt.IsZero() && (s.Revoked || !f.LiveAt.Before(s.ExpiresAt)):
		return false
	}
	return true
}

// Providers are run-time federation settings (see Provider), keyed by kind and name.
type Providers interface {
	// CreateProvider stores p with Version 1. ErrAlreadyExists when the kind already has
	// that name (case-insensitive).
	CreateProvider(ctx context.Context, p Provider) (Provider, error)
	// GetProvider looks up by kind and name, the name case-insensitively.
	GetProvider(ctx context.Context, kind, name string) (Provider, error)
	// ListProviders returns the providers of kind, sorted by name (case-insensitive);
	// an empty kind lists every kind.
	ListProviders(ctx context.Context, kind string) ([]Provider, error)
	// UpdateProvider replaces Config and Source when p.Version matches (else
	// ErrConflict).
	UpdateProvider(ctx context.Context, p Provider) (Provider, error)
	DeleteProvider(ctx context.Context, kind, name string) error
}

// Tx is every aggregate bound to one transaction.
type Tx interface {
	Users
	Groups
	Credentials
	Clients
	AuthRequests
	AuthCodes
	RefreshTokens
	Sessions
	SigningKeys
	Revocations
	APITokens
	AuditLog
	Roles
	ManagedPolicies
	RoleMappings
	RoleSessions
	Providers
}

// Store is a storage backend. Each method on the embedded interfaces is its own
// transaction; Atomic runs several in one.
type Store interface {
	Tx
	// Atomic runs fn in one write transaction: if fn returns an error nothing it wrote is
	// kept. fn must not call methods on the Store itself (only on tx) and may be re-run.
	Atomic(ctx context.Context, fn func(tx Tx) error) error
	// DeleteExpired removes auth requests, codes, refresh tokens, sessions, revocations,
	// API tokens and role sessions whose lifetime ended before now; returns how many
	// records went.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
	// Ping reports whether the backend can serve requests (readiness).
	Ping(ctx context.Context) error
	Close() error
}
