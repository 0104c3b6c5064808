package oidc

import (
	"context"
	"errors"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/store"
)

// errInactive is returned for every token that must not be honoured; the reason goes
// to the log only (RFC 7662 §2.2: do not reveal why).
func errInactive() *zoidc.Error { return zoidc.ErrInvalidRequest().WithDescription("token inactive") }

// activeToken re-verifies a token id op got from our Decrypt (the raw token) and checks
// everything that can end a token before its exp: its jti revoked, its grant (family)
// revoked, its user deactivated or its client deleted. Role-session tokens are not
// client tokens and are refused here.
func (s *storage) activeToken(ctx context.Context, tokenID, subject string) (*accessClaims, *store.User, error) {
	claims, err := s.p.crypto.parse(tokenID)
	if err != nil || claims.roleSession() {
		return nil, nil, errInactive()
	}
	return s.activeClaims(ctx, claims, subject)
}

// activeClaims is activeToken for claims already parsed.
func (s *storage) activeClaims(ctx context.Context, claims *accessClaims, subject string) (*accessClaims, *store.User, error) {
	if claims.Subject != subject {
		return nil, nil, errInactive()
	}
	keys := []string{claims.JTI}
	if claims.GID != "" {
		keys = append(keys, familyKey(claims.GID))
	}
	for _, k := range keys {
		revoked, err := s.p.st.IsRevoked(ctx, k)
		if err != nil {
			return nil, nil, s.serverError(ctx, "check revocation", err)
		}
		if revoked {
			return nil, nil, errInactive()
		}
	}
	if !claims.userToken() {
		if _, err := s.p.st.GetClient(ctx, claims.ClientID); err != nil {
			return nil, nil, errInactive()
		}
		return claims, nil, nil
	}
	u, err := s.p.users.GetUser(ctx, claims.Subject)
	if err != nil || !u.Active {
		return nil, nil, errInactive()
	}
	return claims, &u, nil
}

// SetIntrospectionFromToken implements op.Storage (RFC 7662). op emits whatever is
// written to resp even when an error is returned, so nothing is written until every
// check has passed.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *zoidc.IntrospectionResponse, tokenID, subject, callerID string) error {
	claims, err := s.p.crypto.parse(tokenID)
	if err != nil {
		return errInactive()
	}
	if claims.roleSession() {
		return s.introspectRoleSession(ctx, resp, claims, subject, callerID)
	}
	claims, user, err := s.activeClaims(ctx, claims, subject)
	if err != nil {
		return err
	}
	// RFC 7662 §4: only the token's client or an audience may learn about it.
	if callerID != claims.ClientID && !slices.Contains(claims.Audience, callerID) {
		return errInactive()
	}
	resp.Scope = claims.scopes()
	resp.ClientID = claims.ClientID
	resp.TokenType = zoidc.BearerToken
	resp.Expiration = zoidc.FromTime(time.Unix(claims.Expiry, 0))
	resp.IssuedAt = zoidc.FromTime(time.Unix(claims.IssuedAt, 0))
	if claims.AuthTime != 0 {
		resp.AuthTime = zoidc.FromTime(time.Unix(claims.AuthTime, 0))
	}
	resp.Subject = claims.Subject
	resp.Audience = zoidc.Audience(claims.Audience)
	resp.AuthenticationMethodsReferences = claims.AMR
	resp.Issuer = claims.Issuer
	resp.JWTID = claims.JTI
	if user != nil {
		resp.Username = user.UserName
	}
	return nil
}

// SetUserinfoFromToken implements op.Storage (/userinfo). Only user access tokens are
// accepted: an ID token reaches here with an empty id and fails the parse.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *zoidc.UserInfo, tokenID, subject, _ string) error {
	claims, user, err := s.activeToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	if user == nil || !slices.Contains(claims.scopes(), zoidc.ScopeOpenID) {
		return errInactive()
	}
	return s.fillUserinfo(ctx, info, *user, claims.scopes(), claims.AMR)
}

// fillUserinfo sets the claims the scopes allow (OIDC Core §5.4). It always sets sub:
// op copies this UserInfo over the ID token and an empty Subject would erase sub
// (LIBRARIES.md §5).
func (s *storage) fillUserinfo(ctx context.Context, info *zoidc.UserInfo, u store.User, scopes, amr []string) error {
	info.Subject = u.ID
	if slices.Contains(scopes, zoidc.ScopeProfile) {
		info.Name = u.DisplayName
		info.PreferredUsername = u.UserName
	}
	if slices.Contains(scopes, zoidc.ScopeEmail) && len(u.Emails) > 0 {
		info.Email = u.Emails[0]
	}
	if slices.Contains(scopes, scopeGroups) {
		groups, err := s.p.users.GroupNames(ctx, u.ID)
		if err != nil {
			return s.serverError(ctx, "load groups", err)
		}
		info.AppendClaims("groups", nonNil(groups))
	}
	if slices.Contains(scopes, scopeRoles) {
		roles, err := s.p.users.RoleNames(ctx, u.ID, slices.Contains(amr, "mfa"))
		if err != nil {
			return s.serverError(ctx, "load roles", err)
		}
		info.AppendClaims("roles", nonNil(roles))
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// SetUserinfoFromScopes implements op.Storage. It is deprecated in op and runs right
// before SetUserinfoFromRequest, which does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *zoidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest implements op.CanSetUserinfoFromRequest: the ID token's
// user claims, plus sid (OIDC Front/Back-Channel Logout) and, on refresh, acr, which op
// only copies from auth requests.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, info *zoidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	u, err := s.p.users.GetUser(ctx, req.GetSubject())
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active) {
		return zoidc.ErrInvalidGrant().WithDescription("user is not active")
	}
	if err != nil {
		return s.serverError(ctx, "load user", err)
	}
	if err := s.fillUserinfo(ctx, info, u, scopes, req.GetAMR()); err != nil {
		return err
	}
	switch r := req.(type) {
	case *authRequest:
		if r.r.SessionID != "" {
			info.AppendClaims("sid", r.r.SessionID)
		}
	case *refreshRequest:
		if r.t.SessionID != "" {
			info.AppendClaims("sid", r.t.SessionID)
		}
		if r.t.ACR != "" {
			info.AppendClaims("acr", r.t.ACR)
		}
	}
	return nil
}

// GetPrivateClaimsFromScopes implements op.Storage. op calls it only for JWT-type
// clients, and all of ours are bearer-type (the token crypto builds the JWT), so there
// are no extra claims to add.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return map[string]any{}, nil
}

// GetKeyByIDAndClientID implements op.Storage. Client keys would switch on
// private_key_jwt and the jwt-bearer grant, neither of which we offer.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, zoidc.ErrInvalidClient().WithDescription("private_key_jwt is not supported")
}

// ValidateJWTProfileScopes implements op.Storage; the jwt-bearer grant is refused.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, zoidc.ErrUnsupportedGrantType()
}

// TerminateSession implements op.Storage. end_session is served by our own handler
// (logout.go); this revokes the browser session of the request if it is the user's.
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	rs := reqStateFrom(ctx)
	if rs == nil || !rs.hasSession || (userID != "" && rs.session.UserID != userID) {
		return nil
	}
	if err := s.p.st.RevokeSession(ctx, rs.session.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return s.serverError(ctx, "revoke session", err)
	}
	s.p.audit.Record(ctx, audit.Event{Actor: rs.session.UserID, Action: "oidc.logout", Target: clientID,
		Outcome: audit.Success})
	return nil
}

// TerminateSessionFromRequest implements op.CanTerminateSessionFromRequest with the
// same rules as our end_session handler.
func (s *storage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	if err := s.TerminateSession(ctx, req.UserID, req.ClientID); err != nil {
		return "", err
	}
	return s.p.issuerPath + s.p.cfg.LoggedOutPath, nil
}
