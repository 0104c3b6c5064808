package api

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/idp/declare"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/httperr"
)

// maxLiveSecrets: two secrets overlap during a rotation; a third is refused.
const maxLiveSecrets = 2

func (a *API) mountClients(mux *http.ServeMux) {
	a.route(mux, "GET "+Prefix+"/clients", "admin.client.list", a.listClients)
	a.route(mux, "POST "+Prefix+"/clients", "admin.client.create", a.createClient)
	a.route(mux, "GET "+Prefix+"/clients/{id}", "admin.client.get", a.getClient)
	a.route(mux, "PATCH "+Prefix+"/clients/{id}", "admin.client.update", a.patchClient)
	a.route(mux, "DELETE "+Prefix+"/clients/{id}", "admin.client.delete", a.deleteClient)
	a.route(mux, "POST "+Prefix+"/clients/{id}/secrets", "admin.client.secret.add", a.addClientSecret)
	a.route(mux, "DELETE "+Prefix+"/clients/{id}/secrets/{secretId}", "admin.client.secret.delete", a.deleteClientSecret)
}

// SecretInfo describes a client secret without its digest.
type SecretInfo struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Client is the API view of a client: no secret digests; lifetimes as duration
// strings. ClientSecret is set only in the response that generated it.
type Client struct {
	ID                     string       `json:"id"`
	Name                   string       `json:"name,omitempty"`
	Public                 bool         `json:"public"`
	Native                 bool         `json:"native,omitempty"`
	Secrets                []SecretInfo `json:"secrets,omitempty"`
	RedirectURIs           []string     `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs []string     `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes             []string     `json:"grant_types,omitempty"`
	Scopes                 []string     `json:"scopes,omitempty"`
	AccessTokenFormat      string       `json:"access_token_format,omitempty"`
	AccessTokenLifetime    string       `json:"access_token_lifetime,omitempty"`
	IDTokenLifetime        string       `json:"id_token_lifetime,omitempty"`
	RefreshTokenLifetime   string       `json:"refresh_token_lifetime,omitempty"`
	RequireMFA             bool         `json:"require_mfa"`
	CreatedAt              time.Time    `json:"created_at"`
	UpdatedAt              time.Time    `json:"updated_at"`
	Version                int64        `json:"version"`
	ClientSecret           string       `json:"client_secret,omitempty"`
}

func durString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func clientView(c store.Client) Client {
	v := Client{
		ID: c.ID, Name: c.Name, Public: c.Public, Native: c.Native,
		RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		GrantTypes: c.GrantTypes, Scopes: c.Scopes, AccessTokenFormat: c.AccessTokenFormat,
		AccessTokenLifetime:  durString(c.AccessTokenLifetime),
		IDTokenLifetime:      durString(c.IDTokenLifetime),
		RefreshTokenLifetime: durString(c.RefreshTokenLifetime),
		RequireMFA:           c.RequireMFA,
		CreatedAt:            c.CreatedAt, UpdatedAt: c.UpdatedAt, Version: c.Version,
	}
	for _, s := range c.Secrets {
		v.Secrets = append(v.Secrets, SecretInfo{ID: s.ID, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt})
	}
	return v
}

func (a *API) listClients(w http.ResponseWriter, r *http.Request, _ *call) error {
	cs, err := a.d.Store.ListClients(r.Context())
	if err != nil {
		return storeErr(err, "clients", "")
	}
	slices.SortFunc(cs, func(x, y store.Client) int { return strings.Compare(x.ID, y.ID) })
	out := make([]Client, 0, len(cs))
	for _, c := range cs {
		out = append(out, clientView(c))
	}
	return writeJSON(w, http.StatusOK, list[Client]{Items: out})
}

// clientRequest is the body of create (all fields) and PATCH (fields present change).
type clientRequest struct {
	ID                     *string   `json:"id"`
	Name                   *string   `json:"name"`
	Public                 *bool     `json:"public"`
	Native                 *bool     `json:"native"`
	RedirectURIs           *[]string `json:"redirect_uris"`
	PostLogoutRedirectURIs *[]string `json:"post_logout_redirect_uris"`
	GrantTypes             *[]string `json:"grant_types"`
	Scopes                 *[]string `json:"scopes"`
	AccessTokenFormat      *string   `json:"access_token_format"`
	AccessTokenLifetime    *string   `json:"access_token_lifetime"`
	IDTokenLifetime        *string   `json:"id_token_lifetime"`
	RefreshTokenLifetime   *string   `json:"refresh_token_lifetime"`
	RequireMFA             *bool     `json:"require_mfa"`
}

// applyTo copies the present fields onto c and reports which changed.
func (req clientRequest) applyTo(c *store.Client, is *issues) []string {
	var changed []string
	str := func(name string, dst *string, src *string) {
		if src != nil && *src != *dst {
			*dst, changed = *src, append(changed, name)
		}
	}
	flag := func(name string, dst *bool, src *bool) {
		if src != nil && *src != *dst {
			*dst, changed = *src, append(changed, name)
		}
	}
	strs := func(name string, dst *[]string, src *[]string) {
		if src != nil && !slices.Equal(*src, *dst) {
			*dst, changed = slices.Clone(*src), append(changed, name)
		}
	}
	dur := func(name string, dst *time.Duration, src *string) {
		if src == nil {
			return
		}
		if d := parseDuration(name, src, is); d != *dst {
			*dst, changed = d, append(changed, name)
		}
	}
	str("name", &c.Name, req.Name)
	flag("public", &c.Public, req.Public)
	flag("native", &c.Native, req.Native)
	strs("redirect_uris", &c.RedirectURIs, req.RedirectURIs)
	strs("post_logout_redirect_uris", &c.PostLogoutRedirectURIs, req.PostLogoutRedirectURIs)
	strs("grant_types", &c.GrantTypes, req.GrantTypes)
	strs("scopes", &c.Scopes, req.Scopes)
	str("access_token_format", &c.AccessTokenFormat, req.AccessTokenFormat)
	dur("access_token_lifetime", &c.AccessTokenLifetime, req.AccessTokenLifetime)
	dur("id_token_lifetime", &c.IDTokenLifetime, req.IDTokenLifetime)
	dur("refresh_token_lifetime", &c.RefreshTokenLifetime, req.RefreshTokenLifetime)
	flag("require_mfa", &c.RequireMFA, req.RequireMFA)
	return changed
}

// validateClient runs the client rules and returns every problem at once.
func (a *API) validateClient(c store.Client, is *issues) error {
	for _, fe := range declare.FieldErrors(a.d.Clients.ValidateClient(c)) {
		field := fe.Path
		if field == "" {
			field = "client"
		}
		is.addMsg(field, fe.Msg)
	}
	return is.err()
}

func (a *API) newID() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(a.d.Rand, b); err != nil {
		return "", httperr.Internal(fmt.Errorf("random client id: %w", err))
	}
	return hex.EncodeToString(b), nil
}

func (a *API) createClient(w http.ResponseWriter, r *http.Request, c *call) error {
	var req clientRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	var is issues
	var cl store.Client
	if req.ID != nil && *req.ID != "" {
		cl.ID = *req.ID
		is.add("id", declare.CheckClientID(cl.ID))
	} else {
		id, err := a.newID()
		if err != nil {
			return err
		}
		cl.ID = id
	}
	req.applyTo(&cl, &is)
	if err := a.validateClient(cl, &is); err != nil {
		return err
	}
	c.target = "client:" + cl.ID
	var plain string
	if !cl.Public {
		p, s, err := a.d.Clients.NewClientSecret(a.d.Rand, a.d.Now(), time.Time{})
		if err != nil {
			return httperr.Internal(fmt.Errorf("generate client secret: %w", err))
		}
		plain, cl.Secrets = p, []store.ClientSecret{s}
	}
	created, err := a.d.Store.CreateClient(r.Context(), cl)
	if err != nil {
		return storeErr(err, "client", "id")
	}
	v := clientView(created)
	v.ClientSecret = plain
	setETag(w, created.Version)
	w.Header().Set("Location", Prefix+"/clients/"+created.ID)
	return writeJSON(w, http.StatusCreated, v)
}

func (a *API) getClient(w http.ResponseWriter, r *http.Request, _ *call) error {
	cl, err := a.d.Store.GetClient(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err, "client", "")
	}
	setETag(w, cl.Version)
	return writeJSON(w, http.StatusOK, clientView(cl))
}

func (a *API) patchClient(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.target = "client:" + id
	var req clientRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if req.ID != nil && *req.ID != id {
		return httperr.BadField("id", "a client id cannot change")
	}
	cur, err := a.d.Store.GetClient(r.Context(), id)
	if err != nil {
		return storeErr(err, "client", "")
	}
	if err := checkIfMatch(r, cur.Version); err != nil {
		return err
	}
	next := cur
	next.Secrets = slices.Clone(cur.Secrets)
	var is issues
	changed := req.applyTo(&next, &is)
	if err := a.validateClient(next, &is); err != nil {
		return err
	}
	var plain string
	switch {
	case next.Public && len(next.Secrets) > 0:
		next.Secrets = nil // a public client has no secret to leak
		changed = append(changed, "secrets")
	case !next.Public && len(liveSecrets(next.Secrets, a.d.Now())) == 0:
		p, s, err := a.d.Clients.NewClientSecret(a.d.Rand, a.d.Now(), time.Time{})
		if err != nil {
			return httperr.Internal(fmt.Errorf("generate client secret: %w", err))
		}
		plain, next.Secrets = p, []store.ClientSecret{s}
		changed = append(changed, "secrets")
	}
	c.details = map[string]string{"fields": strings.Join(changed, ",")}
	out := cur
	if len(changed) > 0 {
		if out, err = a.d.Store.UpdateClient(r.Context(), next); err != nil {
			return storeErr(err, "client", "")
		}
	}
	v := clientView(out)
	v.ClientSecret = plain
	setETag(w, out.Version)
	return writeJSON(w, http.StatusOK, v)
}

func (a *API) deleteClient(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.target = "client:" + id
	cur, err := a.d.Store.GetClient(r.Context(), id)
	if err != nil {
		return storeErr(err, "client", "")
	}
	if err := checkIfMatch(r, cur.Version); err != nil {
		return err
	}
	if err := a.d.Store.DeleteClient(r.Context(), id); err != nil {
		return storeErr(err, "client", "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func liveSecrets(ss []store.ClientSecret, now time.Time) []store.ClientSecret {
	var out []store.ClientSecret
	for _, s := range ss {
		if s.ExpiresAt.IsZero() || s.ExpiresAt.After(now) {
			out = append(out, s)
		}
	}
	return out
}

type secretRequest struct {
	// ExpireOthersIn puts an expiry on the existing secrets (zero-downtime rotation).
	ExpireOthersIn *string `json:"expire_others_in"`
}

// SecretCreated is the response of POST /clients/{id}/secrets.
type SecretCreated struct {
	Secret       SecretInfo `json:"secret"`
	ClientSecret string     `json:"client_secret"`
	Client       Client     `json:"client"`
}

func (a *API) addClientSecret(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.target = "client:" + id
	var req secretRequest
	if err := decodeJSON(w, r, &req, true); err != nil {
		return err
	}
	var is issues
	expireIn := parseDuration("expire_others_in", req.ExpireOthersIn, &is)
	if req.ExpireOthersIn != nil && *req.ExpireOthersIn != "" && expireIn == 0 && len(is) == 0 {
		is.addMsg("expire_others_in", "must be positive")
	}
	if err := is.err(); err != nil {
		return err
	}
	cur, err := a.d.Store.GetClient(r.Context(), id)
	if err != nil {
		return storeErr(err, "client", "")
	}
	if err := checkIfMatch(r, cur.Version); err != nil {
		return err
	}
	if cur.Public {
		return &httperr.Error{Status: http.StatusConflict, Code: "public_client", Field: "public", Msg: "a public client has no secrets"}
	}
	now := a.d.Now()
	live := liveSecrets(cur.Secrets, now)
	if len(live) >= maxLiveSecrets {
		return &httperr.Error{Status: http.StatusConflict, Code: "too_many_secrets", Msg: fmt.Sprintf("the client already has %d live secrets; delete one first", len(live))}
	}
	if expireIn > 0 {
		until := now.Add(expireIn)
		for i := range live {
			if live[i].ExpiresAt.IsZero() || live[i].ExpiresAt.After(until) {
				live[i].ExpiresAt = until.UTC()
			}
		}
	}
	plain, s, err := a.d.Clients.NewClientSecret(a.d.Rand, now, time.Time{})
	if err != nil {
		return httperr.Internal(fmt.Errorf("generate client secret: %w", err))
	}
	next := cur
	// Expired secrets are dropped while we are here.
	next.Secrets = append(live, s)
	out, err := a.d.Store.UpdateClient(r.Context(), next)
	if err != nil {
		return storeErr(err, "client", "")
	}
	c.details = map[string]string{"secret": s.ID}
	if expireIn > 0 {
		c.details["expire_others_in"] = expireIn.String()
	}
	setETag(w, out.Version)
	return writeJSON(w, http.StatusCreated, SecretCreated{
		Secret:       SecretInfo{ID: s.ID, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt},
		ClientSecret: plain,
		Client:       clientView(out),
	})
}

func (a *API) deleteClientSecret(w http.ResponseWriter, r *http.Request, c *call) error {
	id, sid := r.PathValue("id"), r.PathValue("secretId")
	c.target = "client:" + id
	c.details = map[string]string{"secret": sid}
	cur, err := a.d.Store.GetClient(r.Context(), id)
	if err != nil {
		return storeErr(err, "client", "")
	}
	if err := checkIfMatch(r, cur.Version); err != nil {
		return err
	}
	i := slices.IndexFunc(cur.Secrets, func(s store.ClientSecret) bool { return s.ID == sid })
	if i < 0 {
		return &httperr.Error{Status: http.StatusNotFound, Code: "not_found", Msg: "client secret not found"}
	}
	next := cur
	next.Secrets = slices.Delete(slices.Clone(cur.Secrets), i, i+1)
	if _, err := a.d.Store.UpdateClient(r.Context(), next); err != nil {
		return storeErr(err, "client", "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
