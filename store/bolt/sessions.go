package bolt

import (
	"context"
	"fmt"
	"sort"
	"time"

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

// ListUserSessions returns the user's live sessions at now, newest first.
func (t *tx) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	if err := t.check(ctx); err != nil {
		return nil, fmt.Errorf("list sessions of user %q: %w", userID, err)
	}
	out := []store.Session{}
	if userID == "" {
		return out, nil
	}
	sessions := t.b(bSessions)
	for _, id := range scanSuffixes(t.b(bSessionsByUser), prefixKey(userID)) {
		var s store.Session
		found, err := getJSON(sessions, []byte(id), &s)
		if err != nil {
			return nil, fmt.Errorf("list sessions of user %q: %w", userID, err)
		}
		if found && !s.Revoked && now.Before(s.ExpiresAt) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AuthTime.After(out[j].AuthTime) })
	return out, nil
}

// UpdateSession replaces the step-up fields (MFAAt, AMR, ACR) of a live session; the
// owner, times and revocation cannot change through it.
func (t *tx) UpdateSession(ctx context.Context, s store.Session) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("update session %q: %w", s.ID, err)
	}
	sessions := t.b(bSessions)
	var cur store.Session
	found, err := getJSON(sessions, []byte(s.ID), &cur)
	if err != nil {
		return fmt.Errorf("update session %q: %w", s.ID, err)
	}
	if !found || cur.Revoked || cur.UserID != s.UserID {
		return fmt.Errorf("update session %q: %w", s.ID, store.ErrNotFound)
	}
	cur.MFAAt, cur.AMR, cur.ACR = s.MFAAt, s.AMR, s.ACR
	if err := putJSON(sessions, []byte(s.ID), cur); err != nil {
		return fmt.Errorf("update session %q: %w", s.ID, err)
	}
	return nil
}
