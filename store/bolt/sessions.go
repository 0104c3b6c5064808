package bolt

import (
	"context"
	"fmt"

	"github.com/portcullis-id/portcullis/store"
)

func (t *tx) CreateSession(ctx context.Context, s store.Session) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	if err := fillID(&s.ID); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	what := fmt.Sprintf("create session %q of user %q", s.ID, s.UserID)
	if err := checkKeyPart("id", s.ID); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := checkKeyPart("user id", s.UserID); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if s.ExpiresAt.IsZero() {
		return fmt.Errorf("%s: %w: no expiry", what, errInvalid)
	}
	sessions := t.b(bSessions)
	if sessions.Get([]byte(s.ID)) != nil {
		return fmt.Errorf("%s: %w", what, store.ErrAlreadyExists)
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = t.clock()
	}
	if err := putJSON(sessions, []byte(s.ID), s); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := t.b(bSessionsByUser).Put(compositeKey(s.UserID, s.ID), nil); err != nil {
		return fmt.Errorf("%s: index: %w", what, err)
	}
	return nil
}

// GetSession returns the session as stored, revoked or expired alike; the caller
// judges it.
func (t *tx) GetSession(ctx context.Context, id string) (store.Session, error) {
	if err := t.check(ctx); err != nil {
		return store.Session{}, fmt.Errorf("get session %q: %w", id, err)
	}
	var s store.Session
	if err := loadOrNotFound(t.b(bSessions), id, &s); err != nil {
		return store.Session{}, fmt.Errorf("get session %q: %w", id, err)
	}
	return s, nil
}

func (t *tx) RevokeSession(ctx context.Context, id string) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("revoke session %q: %w", id, err)
	}
	found, err := t.revokeSession(id)
	if err != nil {
		return fmt.Errorf("revoke session %q: %w", id, err)
	}
	if !found {
		return fmt.Errorf("revoke session %q: %w", id, store.ErrNotFound)
	}
	return nil
}

func (t *tx) revokeSession(id string) (bool, error) {
	sessions := t.b(bSessions)
	var s store.Session
	found, err := getJSON(sessions, []byte(id), &s)
	if err != nil || !found || s.Revoked {
		return found, err
	}
	s.Revoked = true
	return true, putJSON(sessions, []byte(id), s)
}

func (t *tx) RevokeUserSessions(ctx context.Context, userID string) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("revoke sessions of user %q: %w", userID, err)
	}
	if err := t.revokeUserSessions(userID); err != nil {
		return fmt.Errorf("revoke sessions of user %q: %w", userID, err)
	}
	return nil
}

func (t *tx) revokeUserSessions(userID string) error {
	if userID == "" {
		return nil
	}
	for _, id := range scanSuffixes(t.b(bSessionsByUser), prefixKey(userID)) {
		if _, err := t.revokeSession(id); err != nil {
			return fmt.Errorf("revoke session %q: %w", id, err)
		}
	}
	return nil
}
