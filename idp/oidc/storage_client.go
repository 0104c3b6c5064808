package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"slices"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/regulate"
	"github.com/portcullis-id/portcullis/store"
)

// storage implements op.Storage on top of the store. Every error it hands op is a
// *zoidc.Error without the internal cause: op echoes a plain error's text to the client
// as a 500 (LIBRARIES.md §3, §14). Internal causes are logged here instead.
type storage struct{ p *Provider }

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.ClientCredentialsStorage       = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanTerminateSessionFromRequest = (*storage)(nil)
)

// serverError logs err and returns a server_error that does not carry it.
func (s *storage) serverError(ctx context.Context, what string, err error) *zoidc.Error {
	s.p.log.ErrorContext(ctx, "oidc storage: "+what, "err", err)
	return zoidc.ErrServerError()
}

// Health implements op.Storage (readiness).
func (s *storage) Health(ctx context.Context) error {
	if err := s.p.st.Ping(ctx); err != nil {
		return s.serverError(ctx, "ping store", err)
	}
	return nil
}

// GetClientByClientID implements op.Storage.
func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.p.st.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, zoidc.ErrInvalidClient().WithDescription("unknown client")
	}
	if err != nil {
		return nil, s.serverError(ctx, "load client", err)
	}
	return &opClient{c: c, p: s.p, rs: reqStateFrom(ctx)}, nil
}

// dummyDigest is compared against for unknown clients so that the time taken does not
// tell whether a client id exists.
var dummyDigest = sha256.Sum256([]byte("portcullis: no such client"))

// errBadClient is what every failed client authentication looks like to the caller.
func errBadClient() *zoidc.Error {
	return zoidc.ErrInvalidClient().WithDescription("invalid client_id / client_secret")
}

// authenticateClient checks a client secret: through the regulator (a locked client is
// answered invalid_client like any other failure), by SHA-256 digest compared in
// constant time with every live secret (two may be live during a rotation).
func (s *storage) authenticateClient(ctx context.Context, id, secret string) (store.Client, error) {
	key := regulate.Key{Scope: regulate.ScopeClient, ID: id, Limits: s.p.cfg.ClientLimits}
	if err := s.p.reg.Check(key); err != nil {
		s.p.audit.Record(ctx, audit.Event{Actor: id, Action: "oidc.client_auth", Target: id,
			Outcome: audit.Denied, Reason: "throttled"})
		return store.Client{}, errBadClient()
	}
	digest := sha256.Sum256([]byte(secret))
	c, err := s.p.st.GetClient(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Client{}, s.serverError(ctx, "load client", err)
	}
	match := 0
	if err != nil || c.Public || len(c.Secrets) == 0 {
		subtle.ConstantTimeCompare(digest[:], dummyDigest[:])
	} else {
		now := s.p.now()
		for _, sec := range c.Secrets {
			live := sec.ExpiresAt.IsZero() || now.Before(sec.ExpiresAt)
			eq := subtle.ConstantTimeCompare(digest[:], sec.Digest)
			if live {
				match |= eq
			}
		}
	}
	if match != 1 || secret == "" {
		s.p.reg.Fail(key)
		s.p.audit.Record(ctx, audit.Event{Actor: id, Action: "oidc.client_auth", Target: id,
			Outcome: audit.Failure, Reason: "bad credentials"})
		return store.Client{}, errBadClient()
	}
	s.p.reg.Succeed(key)
	return c, nil
}

// AuthorizeClientIDSecret implements op.Storage (code, refresh, revocation and
// introspection client authentication).
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	_, err := s.authenticateClient(ctx, id, secret)
	return err
}

// ClientCredentials implements op.ClientCredentialsStorage.
func (s *storage) ClientCredentials(ctx context.Context, id, secret string) (op.Client, error) {
	c, err := s.authenticateClient(ctx, id, secret)
	if err != nil {
		return nil, err
	}
	return &opClient{c: c, p: s.p}, nil
}

// clientCredentialsRequest is the token request of the client_credentials grant.
// RFC 9068 §2.2: the subject of a client's own token is its client id.
type clientCredentialsRequest struct {
	clientID string
	scopes   []string
}

var _ op.TokenRequest = (*clientCredentialsRequest)(nil)

func (r *clientCredentialsRequest) GetSubject() string    { return r.clientID }
func (r *clientCredentialsRequest) GetAudience() []string { return []string{r.clientID} }
func (r *clientCredentialsRequest) GetScopes() []string   { return r.scopes }

// ClientCredentialsTokenRequest implements op.ClientCredentialsStorage. Requested
// scopes the client is not allowed are dropped rather than refused (RFC 6749 §3.3
// lets the server issue fewer scopes; the response's scope says which). openid and
// offline_access mean nothing without a user and are dropped too.
func (s *storage) ClientCredentialsTokenRequest(ctx context.Context, id string, scopes []string) (op.TokenRequest, error) {
	c, err := s.p.st.GetClient(ctx, id)
	if err != nil {
		return nil, s.serverError(ctx, "load client", err)
	}
	return &clientCredentialsRequest{clientID: c.ID, scopes: clientCredentialsScopes(c, scopes)}, nil
}

// clientCredentialsScopes filters the scopes requested with the client_credentials grant
// to those c may have (see ClientCredentialsTokenRequest), each once, in request order.
func clientCredentialsScopes(c store.Client, requested []string) []string {
	granted := make([]string, 0, len(requested))
	for _, sc := range requested {
		if sc == zoidc.ScopeOpenID || sc == zoidc.ScopeOfflineAccess {
			continue
		}
		if slices.Contains(c.Scopes, sc) && !slices.Contains(granted, sc) {
			granted = append(granted, sc)
		}
	}
	return granted
}
