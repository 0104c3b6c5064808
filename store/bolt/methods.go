package bolt

import (
	"context"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

// The Store's aggregate methods: each opens one transaction and delegates to tx.
// Hot writes go through batch; an error listed after a batched call is raised by tx
// before it writes anything (or, for refresh reuse, after the writes that must stick),
// so it is returned without failing, and re-running, the whole batch.

func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	return updateValue(ctx, s, "create user", func(t *tx) (store.User, error) { return t.CreateUser(ctx, u) })
}

func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	return viewValue(ctx, s, "get user", func(t *tx) (store.User, error) { return t.GetUser(ctx, id) })
}

func (s *Store) GetUserByName(ctx context.Context, userName string) (store.User, error) {
	return viewValue(ctx, s, "get user by name", func(t *tx) (store.User, error) { return t.GetUserByName(ctx, userName) })
}

func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	return viewValue(ctx, s, "list users", func(t *tx) ([]store.User, error) { return t.ListUsers(ctx) })
}

func (s *Store) UpdateUser(ctx context.Context, u store.User) (store.User, error) {
	return updateValue(ctx, s, "update user", func(t *tx) (store.User, error) { return t.UpdateUser(ctx, u) })
}

func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.update(ctx, "delete user", func(t *tx) error { return t.DeleteUser(ctx, id) })
}

func (s *Store) CreateGroup(ctx context.Context, g store.Group) (store.Group, error) {
	return updateValue(ctx, s, "create group", func(t *tx) (store.Group, error) { return t.CreateGroup(ctx, g) })
}

func (s *Store) GetGroup(ctx context.Context, id string) (store.Group, error) {
	return viewValue(ctx, s, "get group", func(t *tx) (store.Group, error) { return t.GetGroup(ctx, id) })
}

func (s *Store) GetGroupByName(ctx context.Context, name string) (store.Group, error) {
	return viewValue(ctx, s, "get group by name", func(t *tx) (store.Group, error) { return t.GetGroupByName(ctx, name) })
}

func (s *Store) ListGroups(ctx context.Context) ([]store.Group, error) {
	return viewValue(ctx, s, "list groups", func(t *tx) ([]store.Group, error) { return t.ListGroups(ctx) })
}

func (s *Store) UpdateGroup(ctx context.Context, g store.Group) (store.Group, error) {
	return updateValue(ctx, s, "update group", func(t *tx) (store.Group, error) { return t.UpdateGroup(ctx, g) })
}

func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	return s.update(ctx, "delete group", func(t *tx) error { return t.DeleteGroup(ctx, id) })
}

func (s *Store) AddMember(ctx context.Context, groupID, userID string) error {
	return s.update(ctx, "add member", func(t *tx) error { return t.AddMember(ctx, groupID, userID) })
}

func (s *Store) RemoveMember(ctx context.Context, groupID, userID string) error {
	return s.update(ctx, "remove member", func(t *tx) error { return t.RemoveMember(ctx, groupID, userID) })
}

func (s *Store) GroupsOfUser(ctx context.Context, userID string) ([]store.Group, error) {
	return viewValue(ctx, s, "groups of user", func(t *tx) ([]store.Group, error) { return t.GroupsOfUser(ctx, userID) })
}

func (s *Store) PutCredential(ctx context.Context, c store.Credential) (store.Credential, error) {
	return updateValue(ctx, s, "put credential", func(t *tx) (store.Credential, error) { return t.PutCredential(ctx, c) })
}

func (s *Store) GetCredential(ctx context.Context, userID, typ, id string) (store.Credential, error) {
	return viewValue(ctx, s, "get credential", func(t *tx) (store.Credential, error) { return t.GetCredential(ctx, userID, typ, id) })
}

func (s *Store) ListCredentials(ctx context.Context, userID string) ([]store.Credential, error) {
	return viewValue(ctx, s, "list credentials", func(t *tx) ([]store.Credential, error) { return t.ListCredentials(ctx, userID) })
}

func (s *Store) DeleteCredential(ctx context.Context, userID, typ, id string) error {
	return s.update(ctx, "delete credential", func(t *tx) error { return t.DeleteCredential(ctx, userID, typ, id) })
}

func (s *Store) CreateClient(ctx context.Context, c store.Client) (store.Client, error) {
	return updateValue(ctx, s, "create client", func(t *tx) (store.Client, error) { return t.CreateClient(ctx, c) })
}

func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	return viewValue(ctx, s, "get client", func(t *tx) (store.Client, error) { return t.GetClient(ctx, id) })
}

func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	return viewValue(ctx, s, "list clients", func(t *tx) ([]store.Client, error) { return t.ListClients(ctx) })
}

func (s *Store) UpdateClient(ctx context.Context, c store.Client) (store.Client, error) {
	return updateValue(ctx, s, "update client", func(t *tx) (store.Client, error) { return t.UpdateClient(ctx, c) })
}

func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.update(ctx, "delete client", func(t *tx) error { return t.DeleteClient(ctx, id) })
}

func (s *Store) CreateAuthRequest(ctx context.Context, r store.AuthRequest) (store.AuthRequest, error) {
	return batchValue(ctx, s, "create auth request", func(t *tx) (store.AuthRequest, error) {
		return t.CreateAuthRequest(ctx, r)
	}, store.ErrAlreadyExists)
}

func (s *Store) GetAuthRequest(ctx context.Context, id string) (store.AuthRequest, error) {
	return viewValue(ctx, s, "get auth request", func(t *tx) (store.AuthRequest, error) { return t.GetAuthRequest(ctx, id) })
}

func (s *Store) UpdateAuthRequest(ctx context.Context, r store.AuthRequest) (store.AuthRequest, error) {
	return batchValue(ctx, s, "update auth request", func(t *tx) (store.AuthRequest, error) {
		return t.UpdateAuthRequest(ctx, r)
	}, store.ErrNotFound, store.ErrConflict)
}

func (s *Store) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.update(ctx, "delete auth request", func(t *tx) error { return t.DeleteAuthRequest(ctx, id) })
}

func (s *Store) SaveAuthCode(ctx context.Context, c store.AuthCode) error {
	_, err := batchValue(ctx, s, "save auth code", func(t *tx) (struct{}, error) {
		return struct{}{}, t.SaveAuthCode(ctx, c)
	}, store.ErrAlreadyExists)
	return err
}

func (s *Store) ConsumeAuthCode(ctx context.Context, digest string, now time.Time) (store.AuthCode, error) {
	return batchValue(ctx, s, "consume auth code", func(t *tx) (store.AuthCode, error) {
		return t.ConsumeAuthCode(ctx, digest, now)
	}, store.ErrAlreadyUsed, store.ErrExpired, store.ErrNotFound)
}

func (s *Store) CreateRefreshToken(ctx context.Context, rt store.RefreshToken) error {
	_, err := batchValue(ctx, s, "create refresh token", func(t *tx) (struct{}, error) {
		return struct{}{}, t.CreateRefreshToken(ctx, rt)
	}, store.ErrAlreadyExists)
	return err
}

func (s *Store) GetRefreshToken(ctx context.Context, id string) (store.RefreshToken, error) {
	return viewValue(ctx, s, "get refresh token", func(t *tx) (store.RefreshToken, error) { return t.GetRefreshToken(ctx, id) })
}

// RotateRefreshToken commits the family revocation a reuse triggers and still returns
// store.ErrAlreadyUsed.
func (s *Store) RotateRefreshToken(ctx context.Context, oldID string, next store.RefreshToken, now time.Time) error {
	_, err := batchValue(ctx, s, "rotate refresh token", func(t *tx) (struct{}, error) {
		return struct{}{}, t.RotateRefreshToken(ctx, oldID, next, now)
	}, store.ErrAlreadyUsed, store.ErrExpired, store.ErrNotFound)
	return err
}

func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string) error {
	return s.update(ctx, "revoke refresh family", func(t *tx) error { return t.RevokeRefreshFamily(ctx, familyID) })
}

func (s *Store) RevokeUserRefreshTokens(ctx context.Context, userID string) ([]string, error) {
	return updateValue(ctx, s, "revoke user refresh tokens", func(t *tx) ([]string, error) {
		return t.RevokeUserRefreshTokens(ctx, userID)
	})
}

func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	_, err := batchValue(ctx, s, "create session", func(t *tx) (struct{}, error) {
		return struct{}{}, t.CreateSession(ctx, sess)
	}, store.ErrAlreadyExists)
	return err
}

func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	return viewValue(ctx, s, "get session", func(t *tx) (store.Session, error) { return t.GetSession(ctx, id) })
}

func (s *Store) RevokeSession(ctx context.Context, id string) error {
	return s.update(ctx, "revoke session", func(t *tx) error { return t.RevokeSession(ctx, id) })
}

func (s *Store) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	return viewValue(ctx, s, "list user sessions", func(t *tx) ([]store.Session, error) { return t.ListUserSessions(ctx, userID, now) })
}

func (s *Store) UpdateSession(ctx context.Context, sess store.Session) error {
	return s.update(ctx, "update session", func(t *tx) error { return t.UpdateSession(ctx, sess) })
}

func (s *Store) RevokeUserSessions(ctx context.Context, userID string) error {
	return s.update(ctx, "revoke user sessions", func(t *tx) error { return t.RevokeUserSessions(ctx, userID) })
}

func (s *Store) CreateSigningKey(ctx context.Context, k store.SigningKey) (store.SigningKey, error) {
	return updateValue(ctx, s, "create signing key", func(t *tx) (store.SigningKey, error) { return t.CreateSigningKey(ctx, k) })
}

func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	return viewValue(ctx, s, "list signing keys", func(t *tx) ([]store.SigningKey, error) { return t.ListSigningKeys(ctx) })
}

func (s *Store) UpdateSigningKey(ctx context.Context, k store.SigningKey) (store.SigningKey, error) {
	return updateValue(ctx, s, "update signing key", func(t *tx) (store.SigningKey, error) { return t.UpdateSigningKey(ctx, k) })
}

func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	return s.update(ctx, "delete signing key", func(t *tx) error { return t.DeleteSigningKey(ctx, id) })
}

func (s *Store) Revoke(ctx context.Context, r store.Revocation) error {
	return s.batch(ctx, "revoke", func(t *tx) error { return t.Revoke(ctx, r) })
}

func (s *Store) IsRevoked(ctx context.Context, key string) (bool, error) {
	return viewValue(ctx, s, "is revoked", func(t *tx) (bool, error) { return t.IsRevoked(ctx, key) })
}

func (s *Store) CreateAPIToken(ctx context.Context, a store.APIToken) (store.APIToken, error) {
	return updateValue(ctx, s, "create api token", func(t *tx) (store.APIToken, error) { return t.CreateAPIToken(ctx, a) })
}

func (s *Store) GetAPITokenByDigest(ctx context.Context, digest []byte) (store.APIToken, error) {
	return viewValue(ctx, s, "get api token by digest", func(t *tx) (store.APIToken, error) {
		return t.GetAPITokenByDigest(ctx, digest)
	})
}

func (s *Store) ListAPITokens(ctx context.Context) ([]store.APIToken, error) {
	return viewValue(ctx, s, "list api tokens", func(t *tx) ([]store.APIToken, error) { return t.ListAPITokens(ctx) })
}

func (s *Store) RevokeAPIToken(ctx context.Context, id string) error {
	return s.update(ctx, "revoke api token", func(t *tx) error { return t.RevokeAPIToken(ctx, id) })
}

func (s *Store) AppendAudit(ctx context.Context, e store.AuditEvent) (store.AuditEvent, error) {
	return batchValue(ctx, s, "append audit event", func(t *tx) (store.AuditEvent, error) { return t.AppendAudit(ctx, e) })
}

func (s *Store) ListAudit(ctx context.Context, after uint64, limit int) ([]store.AuditEvent, error) {
	return viewValue(ctx, s, "list audit events", func(t *tx) ([]store.AuditEvent, error) { return t.ListAudit(ctx, after, limit) })
}
