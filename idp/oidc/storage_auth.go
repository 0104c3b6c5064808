package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/store"
)

// authRequest adapts store.AuthRequest to op.AuthRequest.
type authRequest struct{ r store.AuthRequest }

var _ op.AuthRequest = (*authRequest)(nil)

func (a *authRequest) GetID() string          { return a.r.ID }
func (a *authRequest) GetACR() string         { return a.r.ACR }
func (a *authRequest) GetAMR() []string       { return a.r.AMR }
func (a *authRequest) GetAudience() []string  { return []string{a.r.ClientID} }
func (a *authRequest) GetAuthTime() time.Time { return a.r.AuthTime }
func (a *authRequest) GetClientID() string    { return a.r.ClientID }
func (a *authRequest) GetNonce() string       { return a.r.Nonce }
func (a *authRequest) GetRedirectURI() string { return a.r.RedirectURI }
func (a *authRequest) GetScopes() []string    { return a.r.Scopes }
func (a *authRequest) GetState() string       { return a.r.State }
func (a *authRequest) GetSubject() string     { return a.r.UserID }
func (a *authRequest) Done() bool             { return a.r.Done }
func (a *authRequest) GetResponseType() zoidc.ResponseType {
	return zoidc.ResponseType(a.r.ResponseType)
}
func (a *authRequest) GetResponseMode() zoidc.ResponseMode {
	return zoidc.ResponseMode(a.r.ResponseMode)
}

// GetCodeChallenge returns the persisted PKCE challenge: op takes it from here only, so
// not persisting it would silently disable PKCE (LIBRARIES.md §2).
func (a *authRequest) GetCodeChallenge() *zoidc.CodeChallenge {
	if a.r.CodeChallenge == "" {
		return nil
	}
	return &zoidc.CodeChallenge{
		Challenge: a.r.CodeChallenge,
		Method:    zoidc.CodeChallengeMethod(a.r.CodeChallengeMethod),
	}
}

// LogValue keeps state, nonce and the challenge out of op's logs.
func (a *authRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", a.r.ID), slog.String("client_id", a.r.ClientID))
}

// s256ChallengeLen is the length of base64url(SHA-256(verifier)) without padding.
const s256ChallengeLen = 43

// CreateAuthRequest implements op.Storage. op has validated client, redirect_uri,
// response_type and prompt; an *zoidc.Error returned here is redirected to the client
// with state.
func (s *storage) CreateAuthRequest(ctx context.Context, req *zoidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	c, err := s.p.st.GetClient(ctx, req.ClientID)
	if err != nil {
		return nil, s.serverError(ctx, "load client", err)
	}
	// RFC 7636 §4.3: a missing method means plain, which we refuse like plain itself
	// (RFC 9700 §2.1.1). Public clients must use PKCE (RFC 8252 §8.1).
	switch {
	case req.CodeChallenge == "" && c.Public:
		return nil, zoidc.ErrInvalidRequest().WithDescription("code_challenge required (PKCE S256)")
	case req.CodeChallenge != "" && req.CodeChallengeMethod != zoidc.CodeChallengeMethodS256:
		return nil, zoidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	case req.CodeChallenge != "" && !isS256Challenge(req.CodeChallenge):
		return nil, zoidc.ErrInvalidRequest().WithDescription("code_challenge is not an S256 challenge")
	}
	// Only query responses carry iss (RFC 9207), which discovery promises.
	if req.ResponseMode != "" && req.ResponseMode != zoidc.ResponseModeQuery {
		return nil, zoidc.ErrInvalidRequest().WithDescription("response_mode must be query")
	}
	now := s.p.now()
	ar := store.AuthRequest{
		ClientID:            req.ClientID,
		RedirectURI:         req.RedirectURI,
		State:               req.State,
		Nonce:               req.Nonce,
		Scopes:              allowedScopes(c, req.Scopes),
		ResponseType:        string(req.ResponseType),
		ResponseMode:        string(req.ResponseMode),
		CodeChallenge:       req.CodeChallenge,
		CodeChallengeMethod: string(req.CodeChallengeMethod),
		Prompt:              []string(req.Prompt),
		LoginHint:           req.LoginHint,
		ACRValues:           []string(req.ACRValues),
		ExpiresAt:           now.Add(s.p.cfg.AuthRequestLifetime),
	}
	if req.MaxAge != nil {
		d := time.Duration(*req.MaxAge) * time.Second
		ar.MaxAge = &d
	}
	rs := reqStateFrom(ctx)
	if slices.Contains(ar.Prompt, zoidc.PromptNone) {
		// OIDC Core §3.1.2.1: prompt=none never shows UI; without a session that
		// satisfies the request the answer is login_required.
		sess, ok := s.silentSession(ctx, rs, ar, hintSubject, now)
		if !ok {
			return nil, zoidc.ErrLoginRequired().WithDescription("no active session")
		}
		ar.Done, ar.UserID, ar.SessionID = true, sess.UserID, sess.ID
		ar.AuthTime, ar.AMR, ar.ACR = sess.AuthTime, sess.AMR, sess.ACR
	}
	created, err := s.p.st.CreateAuthRequest(ctx, ar)
	if err != nil {
		return nil, s.serverError(ctx, "create auth request", err)
	}
	if created.Done && rs != nil {
		rs.autoDone = created.ID
	}
	return &authRequest{created}, nil
}

// silentSession returns the browser session if it may answer a prompt=none request:
// valid, of an active user, the user named by id_token_hint if one was sent, and
// authenticated recently enough for max_age.
func (s *storage) silentSession(ctx context.Context, rs *reqState, ar store.AuthRequest, hintSubject string, now time.Time) (store.Session, bool) {
	if rs == nil || !rs.hasSession {
		return store.Session{}, false
	}
	sess := rs.session
	if sess.Revoked || !now.Before(sess.ExpiresAt) {
		return store.Session{}, false
	}
	if hintSubject != "" && hintSubject != sess.UserID {
		return store.Session{}, false
	}
	if ar.MaxAge != nil && now.Sub(sess.AuthTime) > *ar.MaxAge {
		return store.Session{}, false
	}
	if err := s.p.checkUserActive(ctx, sess.UserID); err != nil {
		return store.Session{}, false
	}
	return sess, true
}

func isS256Challenge(c string) bool {
	if len(c) != s256ChallengeLen {
		return false
	}
	for _, r := range c {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// errUnknownRequest is what op shows for an unknown or expired auth request.
func errUnknownRequest() *zoidc.Error {
	return zoidc.ErrInvalidRequest().WithDescription("unknown or expired authorization request")
}

// AuthRequestByID implements op.Storage (the login callback).
func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	ar, err := s.p.st.GetAuthRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errUnknownRequest()
	}
	if err != nil {
		return nil, s.serverError(ctx, "load auth request", err)
	}
	if !s.p.now().Before(ar.ExpiresAt) {
		return nil, errUnknownRequest()
	}
	return &authRequest{ar}, nil
}

func codeDigest(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// SaveAuthCode implements op.Storage. Only the digest is stored, bound to the client,
// and a request gets one code: every callback hit would otherwise mint another.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	ar, err := s.p.st.GetAuthRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return errUnknownRequest()
	}
	if err != nil {
		return s.serverError(ctx, "load auth request", err)
	}
	if !ar.Done {
		return zoidc.ErrInteractionRequired()
	}
	now := s.p.now()
	err = s.p.st.SaveAuthCode(ctx, store.AuthCode{
		Digest:        codeDigest(code),
		AuthRequestID: id,
		ClientID:      ar.ClientID,
		ExpiresAt:     now.Add(s.p.cfg.AuthCodeLifetime),
		CreatedAt:     now,
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return zoidc.ErrInvalidRequest().WithDescription("authorization request already answered")
	}
	if err != nil {
		return s.serverError(ctx, "save auth code", err)
	}
	return nil
}

// AuthRequestByCode implements op.Storage. The code is consumed atomically here, before
// PKCE and client checks: a failed attempt burns it. A code presented twice means it
// leaked, so everything issued from it is revoked (RFC 6749 §4.1.2, RFC 9700 §4.5).
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	now := s.p.now()
	ac, err := s.p.st.ConsumeAuthCode(ctx, codeDigest(code), now)
	switch {
	case errors.Is(err, store.ErrAlreadyUsed):
		if rerr := s.revokeFamily(ctx, ac.AuthRequestID, now); rerr != nil {
			s.p.log.ErrorContext(ctx, "revoke grant of a replayed code", "auth_request", ac.AuthRequestID, "err", rerr)
		}
		s.p.audit.Record(ctx, audit.Event{Actor: ac.ClientID, Action: "oidc.code_replay",
			Target: ac.AuthRequestID, Outcome: audit.Denied, Reason: "authorization code reused; grant revoked"})
		return nil, zoidc.ErrInvalidGrant().WithDescription("invalid code")
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExpired):
		return nil, zoidc.ErrInvalidGrant().WithDescription("invalid code")
	case err != nil:
		return nil, s.serverError(ctx, "consume auth code", err)
	}
	ar, err := s.p.st.GetAuthRequest(ctx, ac.AuthRequestID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, zoidc.ErrInvalidGrant().WithDescription("invalid code")
	}
	if err != nil {
		return nil, s.serverError(ctx, "load auth request", err)
	}
	if !ar.Done || ar.ClientID != ac.ClientID {
		return nil, zoidc.ErrInvalidGrant().WithDescription("invalid code")
	}
	return &authRequest{ar}, nil
}

// DeleteAuthRequest implements op.Storage (after the code exchange). The code record
// stays until it expires, so a replay is still recognised.
func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	if err := s.p.st.DeleteAuthRequest(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return s.serverError(ctx, "delete auth request", err)
	}
	return nil
}

// revokeFamily revokes a grant: every refresh token of the family, and (through the
// "family:" revocation that introspection and userinfo check) every access token
// carrying the family id as gid.
func (s *storage) revokeFamily(ctx context.Context, familyID string, now time.Time) error {
	if familyID == "" {
		return nil
	}
	return s.p.st.Atomic(ctx, func(tx store.Tx) error {
		if err := tx.RevokeRefreshFamily(ctx, familyID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.Revoke(ctx, store.Revocation{Key: familyKey(familyID), Until: s.p.familyUntil(now)})
	})
}

func familyKey(id string) string { return "family:" + id }
