package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/portcullis-id/portcullis/idp/declare"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/httperr"
)

// SourceLocal marks users and groups created through this API.
const SourceLocal = "local"

func (a *API) mountUsers(mux *http.ServeMux) {
	a.route(mux, "GET "+Prefix+"/users", "admin.user.list", a.listUsers)
	a.route(mux, "POST "+Prefix+"/users", "admin.user.create", a.createUser)
	a.route(mux, "GET "+Prefix+"/users/{id}", "admin.user.get", a.getUser)
	a.route(mux, "PATCH "+Prefix+"/users/{id}", "admin.user.update", a.patchUser)
	a.route(mux, "DELETE "+Prefix+"/users/{id}", "admin.user.delete", a.deleteUser)
	a.route(mux, "POST "+Prefix+"/users/{id}/password", "admin.user.password", a.setUserPassword)
	a.route(mux, "POST "+Prefix+"/users/{id}/deactivate", "admin.user.deactivate", a.deactivateUser)
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, _ *call) error {
	if name := r.URL.Query().Get("user_name"); name != "" {
		u, err := a.d.Store.GetUserByName(r.Context(), name)
		if errors.Is(err, store.ErrNotFound) {
			return writeJSON(w, http.StatusOK, list[store.User]{Items: []store.User{}})
		}
		if err != nil {
			return storeErr(err, "user", "")
		}
		return writeJSON(w, http.StatusOK, list[store.User]{Items: []store.User{u}})
	}
	us, err := a.d.Store.ListUsers(r.Context())
	if err != nil {
		return storeErr(err, "users", "")
	}
	slices.SortFunc(us, func(x, y store.User) int {
		return strings.Compare(strings.ToLower(x.UserName), strings.ToLower(y.UserName))
	})
	if us == nil {
		us = []store.User{}
	}
	return writeJSON(w, http.StatusOK, list[store.User]{Items: us})
}

type userCreate struct {
	UserName           string   `json:"user_name"`
	DisplayName        string   `json:"display_name"`
	Emails             []string `json:"emails"`
	Active             *bool    `json:"active"`
	Roles              []string `json:"roles"`
	Password           string   `json:"password"`
	MustChangePassword bool     `json:"must_change_password"`
}

func checkUser(is *issues, userName, displayName string, emails, roles []string) {
	is.add("user_name", declare.CheckName(userName))
	if len(displayName) > 256 {
		is.addMsg("display_name", "must be at most 256 bytes")
	}
	seen := map[string]bool{}
	for i, e := range emails {
		f := fmt.Sprintf("emails[%d]", i)
		if err := declare.CheckEmail(e); err != nil {
			is.add(f, err)
		} else if seen[strings.ToLower(e)] {
			is.addMsg(f, "duplicate email")
		}
		seen[strings.ToLower(e)] = true
	}
	for i, role := range roles {
		is.add(fmt.Sprintf("roles[%d]", i), declare.CheckWord(role))
	}
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request, c *call) error {
	var req userCreate
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	var is issues
	checkUser(&is, req.UserName, req.DisplayName, req.Emails, req.Roles)
	if req.Password == "" && req.MustChangePassword {
		is.addMsg("must_change_password", "needs a password")
	}
	if err := is.err(); err != nil {
		return err
	}
	active := req.Active == nil || *req.Active
	roles := slices.Clone(req.Roles)
	slices.Sort(roles)
	u, err := a.d.Store.CreateUser(r.Context(), store.User{
		UserName:    req.UserName,
		DisplayName: req.DisplayName,
		Emails:      req.Emails,
		Active:      active,
		Roles:       slices.Compact(roles),
		Source:      SourceLocal,
	})
	if err != nil {
		return storeErr(err, "user", "user_name")
	}
	c.target = "user:" + u.ID
	c.details = map[string]string{"user_name": u.UserName}
	if req.Password != "" {
		if err := a.d.Passwords.SetPassword(r.Context(), u.ID, req.Password, req.MustChangePassword); err != nil {
			// Never leave a user behind without the password the caller asked for.
			if derr := a.d.Store.DeleteUser(r.Context(), u.ID); derr != nil {
				a.d.Log.ErrorContext(r.Context(), "remove user after refused password", "user", u.ID, "err", derr)
			}
			return passwordErr(err)
		}
	}
	setETag(w, u.Version)
	w.Header().Set("Location", Prefix+"/users/"+u.ID)
	return writeJSON(w, http.StatusCreated, u)
}

func passwordErr(err error) error {
	var pe interface{ PolicyReason() string }
	if errors.As(err, &pe) {
		return &httperr.Error{Status: http.StatusBadRequest, Code: "invalid_field", Field: "password", Msg: pe.PolicyReason(), Err: err}
	}
	return storeErr(err, "user", "")
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request, _ *call) error {
	u, err := a.d.Store.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err, "user", "")
	}
	setETag(w, u.Version)
	return writeJSON(w, http.StatusOK, u)
}

type userPatch struct {
	UserName    *string   `json:"user_name"`
	DisplayName *string   `json:"display_name"`
	Emails      *[]string `json:"emails"`
	Active      *bool     `json:"active"`
	Roles       *[]string `json:"roles"`
}

func (a *API) patchUser(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.target = "user:" + id
	var req userPatch
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	cur, err := a.d.Store.GetUser(r.Context(), id)
	if err != nil {
		return storeErr(err, "user", "")
	}
	if err := checkIfMatch(r, cur.Version); err != nil {
		return err
	}
	next := cur
	var changed []string
	if req.UserName != nil && *req.UserName != cur.UserName {
		next.UserName, changed = *req.UserName, append(changed, "user_name")
	}
	if req.DisplayName != nil && *req.DisplayName != cur.DisplayName {
		next.DisplayName, changed = *req.DisplayName, append(changed, "display_name")
	}
	if req.Emails != nil && !slices.Equal(*req.Emails, cur.Emails) {
		next.Emails, changed = *req.Emails, append(changed, "emails")
	}
	if req.Roles != nil {
		roles := slices.Clone(*req.Roles)
		slices.Sort(roles)
		if roles = slices.Compact(roles); !slices.Equal(roles, cur.Roles) {
			next.Roles, changed = roles, append(changed, "roles")
		}
	}
	// Deactivation goes through PasswordService so that sessions and refresh tokens are
	// revoked with it; reactivation is a plain update.
	deactivate := req.Active != nil && !*req.Active && cur.Active
	if req.Active != nil && *req.Active && !cur.Active {
		next.Active, changed = true, append(changed, "active")
	}
	var is issues
	checkUser(&is, next.UserName, next.DisplayName, next.Emails, next.Roles)
	if err := is.err(); err != nil {
		return err
	}
	if len(changed) > 0 {
		if _, err := a.d.Store.UpdateUser(r.Context(), next); err != nil {
			return storeErr(err, "user", "user_name")
		}
	}
	if deactivate {
		if err := a.d.Passwords.Deactivate(r.Context(), id); err != nil {
			return storeErr(err, "user", "")
		}
		changed = append(changed, "active")
	}
	c.details = map[string]string{"fields": strings.Join(changed, ",")}
	return a.getUser(w, r, c)
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.target = "user:" + id
	cur, err := a.d.Store.GetUser(r.Context(), id)
	if err != nil {
		return storeErr(err, "user", "")
	}
	if err := checkIfMatch(r, cur.Version); err != nil {
		return err
	}
	c.details = map[string]string{"user_name": cur.UserName}
	if err := a.d.Store.DeleteUser(r.Context(), id); err != nil {
		return storeErr(err, "user", "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type passwordRequest struct {
	Password   string `json:"password"`
	MustChange bool   `json:"must_change"`
}

func (a *API) setUserPassword(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.target = "user:" + id
	var req passwordRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if req.Password == "" {
		return httperr.BadField("password", "must not be empty")
	}
	if _, err := a.d.Store.GetUser(r.Context(), id); err != nil {
		return storeErr(err, "user", "")
	}
	if err := a.d.Passwords.SetPassword(r.Context(), id, req.Password, req.MustChange); err != nil {
		return passwordErr(err)
	}
	c.details = map[string]string{"must_change": fmt.Sprint(req.MustChange)}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deactivateUser(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.target = "user:" + id
	if _, err := a.d.Store.GetUser(r.Context(), id); err != nil {
		return storeErr(err, "user", "")
	}
	if err := a.d.Passwords.Deactivate(r.Context(), id); err != nil {
		return storeErr(err, "user", "")
	}
	return a.getUser(w, r, c)
}
