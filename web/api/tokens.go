package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/idp/apitoken"
	"github.com/portcullis-id/portcullis/idp/declare"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/httperr"
)

// Token lifetimes: a default, and a ceiling so that no admin credential lives forever.
const (
	DefaultTokenLifetime = 90 * 24 * time.Hour
	MaxTokenLifetime     = 366 * 24 * time.Hour
)

func (a *API) mountTokens(mux *http.ServeMux) {
	a.route(mux, "GET "+Prefix+"/tokens", "admin.token.list", a.listTokens)
	a.route(mux, "POST "+Prefix+"/tokens", "admin.token.create", a.createToken)
	a.route(mux, "DELETE "+Prefix+"/tokens/{id}", "admin.token.revoke", a.revokeToken)
}

// Token is the API view of an admin token: never its digest. Token (the plain form) is
// set only in the response that created it.
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Roles     []string  `json:"roles"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Revoked   bool      `json:"revoked"`
	Token     string    `json:"token,omitempty"`
}

func tokenView(t store.APIToken) Token {
	return Token{ID: t.ID, Name: t.Name, Roles: t.Roles, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, Revoked: t.Revoked}
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request, _ *call) error {
	ts, err := a.d.Store.ListAPITokens(r.Context())
	if err != nil {
		return storeErr(err, "api tokens", "")
	}
	slices.SortFunc(ts, func(x, y store.APIToken) int { return x.CreatedAt.Compare(y.CreatedAt) })
	out := make([]Token, 0, len(ts))
	for _, t := range ts {
		out = append(out, tokenView(t))
	}
	return writeJSON(w, http.StatusOK, list[Token]{Items: out})
}

type tokenRequest struct {
	Name      string   `json:"name"`
	Roles     []string `json:"roles"`
	ExpiresIn *string  `json:"expires_in"`
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request, c *call) error {
	var req tokenRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	var is issues
	name := strings.TrimSpace(req.Name)
	if name == "" || len(name) > 128 {
		is.addMsg("name", "must be 1 to 128 characters")
	}
	if len(req.Roles) == 0 {
		is.addMsg("roles", "must name at least one role")
	}
	for i, role := range req.Roles {
		is.add(fmt.Sprintf("roles[%d]", i), declare.CheckWord(role))
	}
	life := DefaultTokenLifetime
	if req.ExpiresIn != nil {
		life = parseDuration("expires_in", req.ExpiresIn, &is)
		if len(is) == 0 && (life <= 0 || life > MaxTokenLifetime) {
			is.addMsg("expires_in", fmt.Sprintf("must be positive and at most %s", MaxTokenLifetime))
		}
	}
	if err := is.err(); err != nil {
		return err
	}
	now := a.d.Now()
	plain, tok, err := apitoken.New(a.d.Rand, name, req.Roles, now, now.Add(life))
	if errors.Is(err, apitoken.ErrInvalid) {
		return &httperr.Error{Status: http.StatusBadRequest, Code: "invalid_field", Msg: err.Error()}
	}
	if err != nil {
		return httperr.Internal(err)
	}
	created, err := a.d.Store.CreateAPIToken(r.Context(), tok)
	if err != nil {
		return storeErr(err, "api token", "name")
	}
	c.target = "token:" + created.ID
	c.details = map[string]string{"name": created.Name, "roles": strings.Join(created.Roles, ",")}
	v := tokenView(created)
	v.Token = plain
	w.Header().Set("Location", Prefix+"/tokens/"+created.ID)
	return writeJSON(w, http.StatusCreated, v)
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.target = "token:" + id
	if err := a.d.Store.RevokeAPIToken(r.Context(), id); err != nil {
		return storeErr(err, "api token", "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
