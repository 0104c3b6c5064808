package oidc

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/store"
)

// refreshTokenBytes is the entropy of a refresh token.
const refreshTokenBytes = 32

// maxRefreshTokenLen bounds what is hashed and looked up as a refresh token.
const maxRefreshTokenLen = 256

// refreshIDPrefix marks the refresh token id GetRefreshTokenInfo hands op for revocation.
const refreshIDPrefix = "rt:"

// grant is what every token of a user grant (or a client's own grant) is minted from.
type grant struct {
	clientID string
	userID   string // "" for client_credentials
	scopes   []string
	authTime time.Time
	amr      []string
	acr      string
	sid      string
	gid      string // auth request id = refresh family id
}

func grantOf(req op.TokenRequest) (grant, error) {
	switch r := req.(type) {
	case *authRequest:
		return grant{clientID: r.r.ClientID, userID: r.r.UserID, scopes: r.r.Scopes,
			authTime: r.r.AuthTime, amr: r.r.AMR, acr: r.r.ACR, sid: r.r.SessionID, gid: r.r.ID}, nil
	case *refreshRequest:
		return grant{clientID: r.t.ClientID, userID: r.t.UserID, scopes: r.scopes,
			authTime: r.t.AuthTime, amr: r.t.AMR, acr: r.t.ACR, sid: r.t.SessionID, gid: r.t.FamilyID}, nil
	case *clientCredentialsRequest:
		return grant{clientID: r.clientID, scopes: r.scopes}, nil
	default:
		// jwt-bearer (*zoidc.JWTTokenRequest), token exchange and device requests are
		// refused in the handler already; this keeps them out if one slips through.
		return grant{}, zoidc.ErrUnsupportedGrantType()
	}
}

// stage mints the access token of an op token request and returns it as op's token id
// (see mintedPrefix).
func (s *storage) stage(ctx context.Context, req op.TokenRequest) (string, time.Time, grant, store.Client, error) {
	g, err := grantOf(req)
	if err != nil {
		return "", time.Time{}, grant{}, store.Client{}, err
	}
	c, err := s.p.st.GetClient(ctx, g.clientID)
	if err != nil {
		return "", time.Time{}, grant{}, store.Client{}, s.serverError(ctx, "load client", err)
	}
	tok, exp, err := s.newAccessToken(ctx, g, c)
	if err != nil {
		return "", time.Time{}, grant{}, store.Client{}, err
	}
	return mintedPrefix + tok, exp, g, c, nil
}

// newAccessToken issues the access token of grant g to client c: op's token requests
// (through stage) and the client_credentials fast path both come here. It returns the
// token and its expiry; errors are *zoidc.Error.
func (s *storage) newAccessToken(ctx context.Context, g grant, c store.Client) (string, time.Time, error) {
	claims, exp, err := s.accessClaims(ctx, g, c)
	if err != nil {
		return "", time.Time{}, err
	}
	tok, err := s.p.crypto.mint(&claims, c.AccessTokenFormat == store.AccessTokenOpaque)
	if err != nil {
		return "", time.Time{}, s.serverError(ctx, "mint access token", err)
	}
	return tok, exp, nil
}

// accessClaims builds the claim set of an access token of grant g for client c, and
// returns it with its expiry. Errors are *zoidc.Error.
func (s *storage) accessClaims(ctx context.Context, g grant, c store.Client) (accessClaims, time.Time, error) {
	now := s.p.now()
	exp := time.Unix(now.Add(s.p.accessTokenLifetime(c)).Unix(), 0)
	jti, err := randomHex(s.p.rand, 16)
	if err != nil {
		return accessClaims{}, time.Time{}, s.serverError(ctx, "token id", err)
	}
	claims := accessClaims{
		Issuer: s.p.cfg.Issuer, Subject: g.clientID, Audience: []string{g.clientID},
		Expiry: exp.Unix(), IssuedAt: now.Unix(), JTI: jti, ClientID: g.clientID,
		Scope: strings.Join(g.scopes, " "),
	}
	if g.userID != "" {
		if err := s.p.checkUserActive(ctx, g.userID); err != nil {
			if errors.Is(err, ErrSessionInvalid) {
				return accessClaims{}, time.Time{}, zoidc.ErrInvalidGrant().WithDescription("user is not active")
			}
			return accessClaims{}, time.Time{}, s.serverError(ctx, "load user", err)
		}
		claims.Subject, claims.AMR, claims.ACR = g.userID, g.amr, g.acr
		claims.SID, claims.GID = g.sid, g.gid
		if !g.authTime.IsZero() {
			claims.AuthTime = g.authTime.Unix()
		}
		if slices.Contains(g.scopes, scopeGroups) {
			if claims.Groups, err = s.p.users.GroupNames(ctx, g.userID); err != nil {
				return accessClaims{}, time.Time{}, s.serverError(ctx, "load groups", err)
			}
		}
		if slices.Contains(g.scopes, scopeRoles) {
			if claims.Roles, err = s.p.users.RoleNames(ctx, g.userID, slices.Contains(g.amr, "mfa")); err != nil {
				return accessClaims{}, time.Time{}, s.serverError(ctx, "load roles", err)
			}
		}
	}
	return claims, exp, nil
}

// CreateAccessToken implements op.Storage. Nothing is written: the token id is the
// token (DESIGN.md: no record per JWT access token).
func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	id, exp, _, _, err := s.stage(ctx, req)
	return id, exp, err
}

// CreateAccessAndRefreshTokens implements op.Storage: a first refresh token for a code
// grant, or a rotation (RFC 9700 §4.14.2) for the refresh grant.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	id, exp, g, c, err := s.stage(ctx, req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if g.userID == "" {
		return "", "", time.Time{}, zoidc.ErrUnsupportedGrantType()
	}
	raw, digest, err := s.newRefreshToken()
	if err != nil {
		return "", "", time.Time{}, s.serverError(ctx, "refresh token", err)
	}
	now := s.p.now()
	next := store.RefreshToken{
		ID: digest, FamilyID: g.gid, ClientID: g.clientID, UserID: g.userID, SessionID: g.sid,
		Audience: []string{g.clientID}, AMR: g.amr, ACR: g.acr, AuthTime: g.authTime, CreatedAt: now,
	}
	switch r := req.(type) {
	case *authRequest:
		next.Scopes = r.r.Scopes
		next.FamilyExpiresAt = now.Add(s.p.cfg.RefreshAbsoluteLifetime)
		next.ExpiresAt = earliest(now.Add(s.p.refreshIdleLifetime(c)), next.FamilyExpiresAt)
		if err := s.p.st.CreateRefreshToken(ctx, next); err != nil {
			return "", "", time.Time{}, s.serverError(ctx, "create refresh token", err)
		}
	case *refreshRequest:
		if refreshMismatch(current, r.t.ID) {
			return "", "", time.Time{}, zoidc.ErrInvalidGrant()
		}
		// The new token keeps the original grant's scopes: a narrowed request narrows
		// only the tokens of this response (RFC 6749 §6).
		next.Scopes = r.t.Scopes
		next.FamilyExpiresAt = r.t.FamilyExpiresAt
		next.ExpiresAt = earliest(now.Add(s.p.refreshIdleLifetime(c)), next.FamilyExpiresAt)
		if r.grace {
			err = s.p.st.CreateRefreshToken(ctx, next)
		} else {
			err = s.p.st.RotateRefreshToken(ctx, r.t.ID, next, now)
		}
		if errors.Is(err, store.ErrAlreadyUsed) {
			// Lost a race with another use of the same token: the store revoked the
			// family's refresh tokens; refuse its access tokens too.
			s.refreshReused(ctx, r.t, now)
			return "", "", time.Time{}, zoidc.ErrInvalidGrant()
		}
		if err != nil {
			return "", "", time.Time{}, s.serverError(ctx, "rotate refresh token", err)
		}
	default:
		return "", "", time.Time{}, zoidc.ErrUnsupportedGrantType()
	}
	return id, raw, exp, nil
}

func earliest(a, b time.Time) time.Time {
	if b.IsZero() || a.Before(b) {
		return a
	}
	return b
}

// refreshMismatch reports whether raw does not hash to digest.
func refreshMismatch(raw, digest string) bool {
	return raw == "" || codeDigest(raw) != digest
}

func (s *storage) newRefreshToken() (raw, digest string, err error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := io.ReadFull(s.p.rand, b); err != nil {
		return "", "", fmt.Errorf("read random: %w", err)
	}
	raw = base64.RawURLEncoding.EncodeToString(b)
	return raw, codeDigest(raw), nil
}

func randomHex(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// refreshRequest adapts a stored refresh token to op.RefreshTokenRequest.
type refreshRequest struct {
	t      store.RefreshToken
	scopes []string
	grace  bool // presented again within Config.RefreshReuseGrace of its rotation
}

var _ op.RefreshTokenRequest = (*refreshRequest)(nil)

func (r *refreshRequest) GetAMR() []string            { return r.t.AMR }
func (r *refreshRequest) GetAudience() []string       { return []string{r.t.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.t.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.t.ClientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.t.UserID }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }

// TokenRequestByRefreshToken implements op.Storage. op turns any error into
// invalid_grant. A token presented after its rotation means two parties hold the
// family, so the whole family is revoked (RFC 9700 §4.14.2).
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, raw string) (op.RefreshTokenRequest, error) {
	if raw == "" || len(raw) > maxRefreshTokenLen {
		return nil, zoidc.ErrInvalidGrant()
	}
	t, err := s.p.st.GetRefreshToken(ctx, codeDigest(raw))
	if errors.Is(err, store.ErrNotFound) {
		return nil, zoidc.ErrInvalidGrant()
	}
	if err != nil {
		return nil, s.serverError(ctx, "load refresh token", err)
	}
	now := s.p.now()
	if t.Revoked {
		return nil, zoidc.ErrInvalidGrant()
	}
	grace := false
	if !t.ConsumedAt.IsZero() {
		if s.p.cfg.RefreshReuseGrace <= 0 || now.Sub(t.ConsumedAt) > s.p.cfg.RefreshReuseGrace {
			s.refreshReused(ctx, t, now)
			return nil, zoidc.ErrInvalidGrant()
		}
		grace = true
	}
	if !now.Before(t.ExpiresAt) || (!t.FamilyExpiresAt.IsZero() && !now.Before(t.FamilyExpiresAt)) {
		return nil, zoidc.ErrInvalidGrant()
	}
	if err := s.p.checkUserActive(ctx, t.UserID); err != nil {
		return nil, zoidc.ErrInvalidGrant()
	}
	return &refreshRequest{t: t, scopes: slices.Clone(t.Scopes), grace: grace}, nil
}

// refreshReused revokes the family of a replayed refresh token and records it.
func (s *storage) refreshReused(ctx context.Context, t store.RefreshToken, now time.Time) {
	if err := s.revokeFamily(ctx, t.FamilyID, now); err != nil {
		s.p.log.ErrorContext(ctx, "revoke refresh family", "family", t.FamilyID, "err", err)
	}
	s.p.audit.Record(ctx, audit.Event{Actor: t.ClientID, Action: "oidc.refresh_replay", Target: t.UserID,
		Outcome: audit.Denied, Reason: "refresh token reused; family revoked",
		Details: map[string]string{"family": t.FamilyID}})
}

// GetRefreshTokenInfo implements op.Storage. For anything that is not a refresh token
// of this client it must return exactly op.ErrInvalidRefreshToken (else op answers
// 500), after which op tries the token as an access token.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	if token == "" || len(token) > maxRefreshTokenLen {
		return "", "", op.ErrInvalidRefreshToken
	}
	t, err := s.p.st.GetRefreshToken(ctx, codeDigest(token))
	if errors.Is(err, store.ErrNotFound) {
		return "", "", op.ErrInvalidRefreshToken
	}
	if err != nil {
		return "", "", s.serverError(ctx, "load refresh token", err)
	}
	if t.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return t.UserID, refreshIDPrefix + t.ID, nil
}

// RevokeToken implements op.Storage (RFC 7009). op passes "rt:<id>" with the user for
// a refresh token found by GetRefreshTokenInfo, the raw access token with its subject
// (our Decrypt returns the raw token as its id), or the raw input with no user for
// anything else. A token that is unknown or belongs to another client is answered 200
// without effect: the caller learns nothing about tokens that are not its own.
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *zoidc.Error {
	if id, ok := strings.CutPrefix(tokenOrID, refreshIDPrefix); ok && userID != "" {
		return s.revokeRefresh(ctx, id, clientID)
	}
	if claims, err := s.p.crypto.parse(tokenOrID); err == nil {
		// A role session is revoked through the admin API, which ends its record and
		// its token together; no client owns it here.
		if claims.ClientID != clientID || claims.roleSession() {
			return nil
		}
		err := s.p.st.Revoke(ctx, store.Revocation{Key: claims.JTI, Until: time.Unix(claims.Expiry, 0)})
		if err != nil {
			return s.serverError(ctx, "revoke access token", err)
		}
		s.p.audit.Record(ctx, audit.Event{Actor: clientID, Action: "oidc.revoke", Target: claims.Subject,
			Outcome: audit.Success, Details: map[string]string{"jti": claims.JTI}})
		return nil
	}
	// RFC 7009 §2.1: a wrong token_type_hint must not stop the search.
	if tokenOrID != "" && len(tokenOrID) <= maxRefreshTokenLen {
		return s.revokeRefresh(ctx, codeDigest(tokenOrID), clientID)
	}
	return nil
}

// revokeRefresh revokes the family of the refresh token with the given id, if the
// caller owns it. RFC 7009 §2.1: revoking a refresh token revokes the grant's access
// tokens as well.
func (s *storage) revokeRefresh(ctx context.Context, id, clientID string) *zoidc.Error {
	t, err := s.p.st.GetRefreshToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return s.serverError(ctx, "load refresh token", err)
	}
	if t.ClientID != clientID {
		return nil
	}
	if err := s.revokeFamily(ctx, t.FamilyID, s.p.now()); err != nil {
		return s.serverError(ctx, "revoke refresh family", err)
	}
	s.p.audit.Record(ctx, audit.Event{Actor: clientID, Action: "oidc.revoke", Target: t.UserID,
		Outcome: audit.Success, Details: map[string]string{"family": t.FamilyID}})
	return nil
}
