package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/portcullis-id/portcullis/federation/webidentity"
	"github.com/portcullis-id/portcullis/idp/declare"
	"github.com/portcullis-id/portcullis/idp/directory"
	"github.com/portcullis-id/portcullis/idp/keys"
	"github.com/portcullis-id/portcullis/idp/oidc"
	"github.com/portcullis-id/portcullis/idp/policy"
	"github.com/portcullis-id/portcullis/idp/roles"
	"github.com/portcullis-id/portcullis/idp/sts"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/api"
)

// The adapters below connect packages that each declare the narrow interface they need.

// dirUsers gives the provider user lookups, group names and mapped roles.
type dirUsers struct {
	st  store.Store
	dir *directory.Directory
}

// RoleNames applies the role-mapping rules to the user as the directory knows them and
// to whether the sign-in proved a second factor. Rules that need a source address do not
// apply at token time (the code is redeemed by the client, not the browser), so they
// grant nothing here: they fail closed.
func (u dirUsers) RoleNames(ctx context.Context, userID string, mfa bool) ([]string, error) {
	usr, err := u.st.GetUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	groups, err := u.dir.GroupNames(ctx, userID)
	if err != nil {
		return nil, err
	}
	rules, err := u.st.ListRoleMappings(ctx)
	if err != nil {
		return nil, err
	}
	// Users made by an administrator or a declarative file are both local accounts.
	source := usr.Source
	if source == "" || source == declare.SourceDeclarative {
		source = store.MappingSourceLocal
	}
	return roles.RoleNames(roles.Evaluate(rules, roles.Input{Source: source, Groups: groups, MFA: mfa})), nil
}

func (u dirUsers) GetUser(ctx context.Context, id string) (store.User, error) {
	return u.st.GetUser(ctx, id)
}

func (u dirUsers) GroupNames(ctx context.Context, userID string) ([]string, error) {
	return u.dir.GroupNames(ctx, userID)
}

// Roles resolves a user by name or id to the roles the mapping rules grant (without a
// sign-in there is no second factor, so MFA-only rules do not apply).
func (u dirUsers) Roles(ctx context.Context, user string) (string, []string, error) {
	usr, err := u.st.GetUserByName(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		usr, err = u.st.GetUser(ctx, user)
	}
	if err != nil {
		return "", nil, err
	}
	if !usr.Active {
		return usr.ID, nil, nil
	}
	names, err := u.RoleNames(ctx, usr.ID, false)
	return usr.ID, names, err
}

// passwordAdapter lets the declarative reconciler hash and check passwords.
type passwordAdapter struct{ dir *directory.Directory }

func (p passwordAdapter) Hash(password string) (string, error) { return p.dir.HashPassword(password) }
func (p passwordAdapter) CheckHash(phc string) error           { return p.dir.CheckHash(phc) }
func (p passwordAdapter) CheckPolicy(password, userName string) error {
	return p.dir.CheckPolicy(password, userName)
}

// clientService exposes the provider's client rules to the admin API and the reconciler.
type clientService struct{}

func (clientService) ValidateClient(c store.Client) error { return oidc.ValidateClient(c) }
func (clientService) NewClientSecret(r io.Reader, now, expires time.Time) (string, store.ClientSecret, error) {
	return oidc.NewClientSecret(r, now, expires)
}

// keyService shows and rotates signing keys through the admin API. The list comes from
// the store (it has the states); the manager reloads after a rotation.
type keyService struct {
	km *keys.Manager
	st store.SigningKeys
}

func (k keyService) Rotate(ctx context.Context) error { return k.km.Rotate(ctx) }

func (k keyService) List(ctx context.Context) ([]api.KeyInfo, error) {
	ks, err := k.st.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.KeyInfo, 0, len(ks))
	for _, sk := range ks {
		out = append(out, api.KeyInfo{ID: sk.ID, Algorithm: sk.Algorithm, State: sk.State, NotAfter: sk.NotAfter})
	}
	return out, nil
}

// apiPasswords maps the directory's policy refusal onto the API's error type.
type apiPasswords struct{ dir *directory.Directory }

func (p apiPasswords) SetPassword(ctx context.Context, userID, password string, mustChange bool) error {
	err := p.dir.SetPassword(ctx, userID, password, mustChange)
	var pe *directory.PolicyError
	if errors.As(err, &pe) {
		return &api.PasswordPolicyError{Reason: pe.Reason}
	}
	return err
}

func (p apiPasswords) Deactivate(ctx context.Context, userID string) error {
	return p.dir.Deactivate(ctx, userID)
}

// policyValidator checks role and managed-policy documents with the IAM policy parser,
// so the admin API and declarative files refuse what the evaluator would refuse.
type policyValidator struct{}

func (policyValidator) ValidateIdentity(doc []byte) error {
	_, err := policy.Parse(doc, policy.Identity)
	return err
}

func (policyValidator) ValidateTrust(doc []byte) error {
	_, err := policy.ParseTrust(doc)
	return err
}

// webIdentity adapts the trusted-issuer verifier to the STS. Without trusted issuers
// every token is refused as invalid.
type webIdentity struct {
	v *webidentity.Verifier
	// tags returns an issuer URL's claim → session-tag rules.
	tags func(issuerURL string) map[string]string
}

func (w webIdentity) VerifyWebIdentity(ctx context.Context, token string) (sts.Identity, error) {
	t, err := w.v.Verify(ctx, token)
	switch {
	case err == nil:
	case errors.Is(err, webidentity.ErrExpired):
		return sts.Identity{}, fmt.Errorf("%w: %w", sts.ErrExpiredToken, err)
	case errors.Is(err, webidentity.ErrIssuerUnavailable):
		return sts.Identity{}, fmt.Errorf("%w: %w", sts.ErrIDPCommunication, err)
	default:
		return sts.Identity{}, fmt.Errorf("%w: %w", sts.ErrInvalidIdentityToken, err)
	}
	id := sts.Identity{
		Issuer: t.Issuer.URL, Subject: t.Subject, Audience: t.Audience,
		ConditionKeys: t.ConditionKeys(), Expiry: t.Expiry,
	}
	for claim, tag := range w.tags(t.Issuer.URL) {
		// Only scalar claims make tags; a missing claim makes no tag.
		switch v := t.Claims[claim].(type) {
		case string:
			if id.Tags == nil {
				id.Tags = map[string]string{}
			}
			id.Tags[tag] = v
		case json.Number, bool:
			if id.Tags == nil {
				id.Tags = map[string]string{}
			}
			id.Tags[tag] = fmt.Sprint(v)
		}
	}
	return id, nil
}

// tokenExchangeRoute sends RFC 8693 token-exchange requests at the token endpoint to the
// STS and every other grant to the OpenID provider, untouched. The body is read once,
// size-limited, and handed on as it was.
type tokenExchangeRoute struct {
	sts *sts.Service
	op  http.Handler
}

func (t tokenExchangeRoute) Mount(mux *http.ServeMux) {
	mux.Handle("POST /oauth/token", t)
}

func (t tokenExchangeRoute) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const maxTokenRequest = 1 << 20
	body, err := io.ReadAll(io.LimitReader(r.Body, maxTokenRequest+1))
	if err != nil || len(body) > maxTokenRequest {
		http.Error(w, `{"error":"invalid_request","error_description":"request body too large or unreadable"}`, http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if form, err := url.ParseQuery(string(body)); err == nil && form.Get("grant_type") == sts.GrantTypeTokenExchange {
		t.sts.TokenExchange(w, r)
		return
	}
	t.op.ServeHTTP(w, r)
}
