package oidc

import (
	"context"
	"errors"
	"slices"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/portcullis-id/portcullis/store"
)

// ScopeSTSIntrospect is the scope a confidential client must list among its allowed
// scopes (store.Client.Scopes) to introspect role-session tokens.
const ScopeSTSIntrospect = "sts:introspect"

// introspectRoleSession answers RFC 7662 for a role-session token.
//
// Who may ask: RFC 7662 §4 leaves it to the server. A session token names no OAuth
// client (its client_id and aud are "sts"), so the rule for client tokens, the token's
// client or an audience, cannot apply. Only a confidential client that lists
// ScopeSTSIntrospect may learn about sessions; to any other caller the token is
// inactive, as a token it has no business seeing (§2.2: the reason is not revealed).
//
// When it is active: while its RoleSession is stored, not revoked and not expired, its
// role still exists and its jti (the access key id) is not on the revocation list: the
// facts the decision point judges a session by.
//
// The answer has the standard members (token_type stays "Bearer", as RFC 7662 §2.2
// takes it from the RFC 6749 §7.1 registry; client_id "sts" is what marks a role
// session) plus the session's role ARN, session_name and source_identity, named as in
// the session token.
func (s *storage) introspectRoleSession(ctx context.Context, resp *zoidc.IntrospectionResponse, claims *accessClaims, subject, callerID string) error {
	if subject != claims.opSubject() {
		return errInactive()
	}
	caller, err := s.p.st.GetClient(ctx, callerID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errInactive()
	case err != nil:
		return s.serverError(ctx, "load introspecting client", err)
	case caller.Public || !slices.Contains(caller.Scopes, ScopeSTSIntrospect):
		return errInactive()
	}
	revoked, err := s.p.st.IsRevoked(ctx, claims.JTI)
	if err != nil {
		return s.serverError(ctx, "check revocation", err)
	}
	if revoked {
		return errInactive()
	}
	rs, err := s.p.st.GetRoleSession(ctx, claims.JTI)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errInactive()
	case err != nil:
		return s.serverError(ctx, "load role session", err)
	case rs.Revoked || !s.p.now().Before(rs.ExpiresAt):
		return errInactive()
	}
	if _, err := s.p.st.GetRole(ctx, rs.RoleID); errors.Is(err, store.ErrNotFound) {
		return errInactive()
	} else if err != nil {
		return s.serverError(ctx, "load role of session", err)
	}

	resp.ClientID = claims.ClientID
	resp.TokenType = zoidc.BearerToken
	resp.Expiration = zoidc.FromTime(time.Unix(claims.Expiry, 0))
	resp.IssuedAt = zoidc.FromTime(time.Unix(claims.IssuedAt, 0))
	resp.Subject = claims.Subject
	resp.Audience = zoidc.Audience(claims.Audience)
	resp.Issuer = claims.Issuer
	resp.JWTID = claims.JTI
	resp.Claims = map[string]any{"role": rs.RoleARN, "session_name": rs.SessionName}
	if rs.SourceIdentity != "" {
		resp.Claims["source_identity"] = rs.SourceIdentity
	}
	return nil
}
