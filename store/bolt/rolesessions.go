package bolt

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/portcullis-id/portcullis/store"
)

func (t *tx) CreateRoleSession(ctx context.Context, s store.RoleSession) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("create role session: %w", err)
	}
	what := fmt.Sprintf("create role session %q of role %q", s.ID, s.RoleID)
	if err := checkKeyPart("id", s.ID); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := checkKeyPart("role id", s.RoleID); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if len(s.SecretSealed) == 0 {
		return fmt.Errorf("%s: %w: no sealed secret", what, errInvalid)
	}
	if s.ExpiresAt.IsZero() {
		return fmt.Errorf("%s: %w: no expiry", what, errInvalid)
	}
	var err error
	if s.SessionPolicy, err = compactJSON("session policy", s.SessionPolicy, true); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	sessions := t.b(bRoleSessions)
	sessions.FillPercent = appendFill
	if sessions.Get([]byte(s.ID)) != nil {
		return fmt.Errorf("%s: %w", what, store.ErrAlreadyExists)
	}
	if s.IssuedAt.IsZero() {
		s.IssuedAt = t.clock()
	}
	if err := putJSON(sessions, []byte(s.ID), s); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := t.b(bRoleSessionsBy).Put(compositeKey(s.RoleID, s.ID), nil); err != nil {
		return fmt.Errorf("%s: index: %w", what, err)
	}
	return nil
}

// GetRoleSession returns the session as stored, revoked or expired alike; the caller
// judges it.
func (t *tx) GetRoleSession(ctx context.Context, id string) (store.RoleSession, error) {
	if err := t.check(ctx); err != nil {
		return store.RoleSession{}, fmt.Errorf("get role session %q: %w", id, err)
	}
	var s store.RoleSession
	if err := loadOrNotFound(t.b(bRoleSessions), id, &s); err != nil {
		return store.RoleSession{}, fmt.Errorf("get role session %q: %w", id, err)
	}
	return s, nil
}

func (t *tx) RevokeRoleSession(ctx context.Context, id string) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("revoke role session %q: %w", id, err)
	}
	sessions := t.b(bRoleSessions)
	var s store.RoleSession
	if err := loadOrNotFound(sessions, id, &s); err != nil {
		return fmt.Errorf("revoke role session %q: %w", id, err)
	}
	if s.Revoked {
		return nil
	}
	s.Revoked = true
	if err := putJSON(sessions, []byte(id), s); err != nil {
		return fmt.Errorf("revoke role session %q: %w", id, err)
	}
	return nil
}

// ListRoleSessions returns the role's stored sessions, newest first.
func (t *tx) ListRoleSessions(ctx context.Context, roleID string) ([]store.RoleSession, error) {
	if err := t.check(ctx); err != nil {
		return nil, fmt.Errorf("list sessions of role %q: %w", roleID, err)
	}
	out := []store.RoleSession{}
	if roleID == "" {
		return out, nil
	}
	sessions := t.b(bRoleSessions)
	for _, id := range scanSuffixes(t.b(bRoleSessionsBy), prefixKey(roleID)) {
		var s store.RoleSession
		found, err := getJSON(sessions, []byte(id), &s)
		if err != nil {
			return nil, fmt.Errorf("list sessions of role %q: %w", roleID, err)
		}
		if found {
			out = append(out, s)
		}
	}
	sortNewestFirst(out)
	return out, nil
}

// FindRoleSessions returns the sessions f selects, newest first: through the role index
// when f names a role, else by a scan of every stored session.
func (t *tx) FindRoleSessions(ctx context.Context, f store.RoleSessionFilter) ([]store.RoleSession, error) {
	if err := t.check(ctx); err != nil {
		return nil, fmt.Errorf("find role sessions: %w", err)
	}
	if f.RoleID != "" {
		all, err := t.ListRoleSessions(ctx, f.RoleID)
		if err != nil {
			return nil, err
		}
		return slices.DeleteFunc(all, func(s store.RoleSession) bool { return !f.Matches(s) }), nil
	}
	_, out, err := collect(t.b(bRoleSessions), f.Matches)
	if err != nil {
		return nil, fmt.Errorf("find role sessions: %w", err)
	}
	if out == nil {
		out = []store.RoleSession{}
	}
	sortNewestFirst(out)
	return out, nil
}

// sortNewestFirst orders sessions by IssuedAt, newest first; the id breaks ties so the
// order is total.
func sortNewestFirst(l []store.RoleSession) {
	slices.SortFunc(l, func(a, b store.RoleSession) int {
		if c := b.IssuedAt.Compare(a.IssuedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
