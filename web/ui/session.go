package ui

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

// SessionStore is the store part browser sessions need.
type SessionStore interface {
	CreateSession(ctx context.Context, s store.Session) error
	GetSession(ctx context.Context, id string) (store.Session, error)
	RevokeSession(ctx context.Context, id string) error
	UpdateSession(ctx context.Context, s store.Session) error
	ListUserSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error)
}

// UserLookup tells whether a session's user may still use it.
type UserLookup interface {
	GetUser(ctx context.Context, id string) (store.User, error)
}

// Sessions issues and reads the browser SSO session cookie. The cookie holds 256 random
// bits; the store keys the session by the SHA-256 of that value, so a copy of the data
// file does not hand out live sessions.
type Sessions struct {
	Store    SessionStore
	Users    UserLookup
	Secure   bool
	Lifetime time.Duration
	Now      func() time.Time
}

func (s *Sessions) cookieName() string {
	if s.Secure {
		return "__Host-portcullis_session"
	}
	return "portcullis_session"
}

func sessionKey(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(sum[:])
}

// FromRequest returns the valid session the request's cookie names, if any: not
// expired, not revoked, and its user still exists and is active.
func (s *Sessions) FromRequest(r *http.Request) (store.Session, bool) {
	ck, err := r.Cookie(s.cookieName())
	if err != nil || len(ck.Value) < 40 || len(ck.Value) > 64 {
		return store.Session{}, false
	}
	sess, err := s.Store.GetSession(r.Context(), sessionKey(ck.Value))
	if err != nil || sess.Revoked || !s.Now().Before(sess.ExpiresAt) {
		return store.Session{}, false
	}
	u, err := s.Users.GetUser(r.Context(), sess.UserID)
	if err != nil || !u.Active {
		return store.Session{}, false
	}
	return sess, true
}

// Start creates a session for user and sets the cookie. mfaAt is when a second factor
// was verified (zero: none).
func (s *Sessions) Start(w http.ResponseWriter, r *http.Request, userID string, amr []string, mfaAt time.Time, acr, sourceIP string) (store.Session, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return store.Session{}, err
	}
	v := base64.RawURLEncoding.EncodeToString(b[:])
	now := s.Now()
	sess := store.Session{
		ID: sessionKey(v), UserID: userID, AuthTime: now, AMR: amr, ACR: acr, MFAAt: mfaAt,
		CreatedAt: now, ExpiresAt: now.Add(s.Lifetime),
		UserAgent: truncate(r.UserAgent(), 200), SourceIP: sourceIP,
	}
	if err := s.Store.CreateSession(r.Context(), sess); err != nil {
		return store.Session{}, err
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: v, Path: "/", HttpOnly: true, Secure: s.Secure,
		SameSite: http.SameSiteLaxMode, Expires: sess.ExpiresAt,
	})
	return sess, nil
}

// Clear expires the session cookie.
func (s *Sessions) Clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: "", Path: "/", HttpOnly: true, Secure: s.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1,
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
