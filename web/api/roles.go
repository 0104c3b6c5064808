package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/idp/declare"
	"github.com/portcullis-id/portcullis/idp/roles"
	"github.com/portcullis-id/portcullis/store"
)

// PolicyValidator checks IAM policy documents (idp/policy); a refusal's message names
// the statement path. Without one, the API checks only that documents are JSON objects.
type PolicyValidator interface {
	ValidateIdentity(doc []byte) error
	ValidateTrust(doc []byte) error
}

func (a *API) mountRoles(mux *http.ServeMux) {
	a.route(mux, "GET "+Prefix+"/roles", "admin.role.list", a.listRoles)
	a.route(mux, "POST "+Prefix+"/roles", "admin.role.create", a.createRole)
	a.route(mux, "GET "+Prefix+"/roles/{name}", "admin.role.get", a.getRole)
	a.route(mux, "PATCH "+Prefix+"/roles/{name}", "admin.role.update", a.patchRole)
	a.route(mux, "DELETE "+Prefix+"/roles/{name}", "admin.role.delete", a.deleteRole)
	a.route(mux, "GET "+Prefix+"/users/{id}/roles", "admin.user.roles", a.userRoles)
}

// Role is the API view of a role: the session duration as a duration string.
type Role struct {
	ID                 string                     `json:"id"`
	ARN                string                     `json:"arn"`
	Name               string                     `json:"name"`
	Path               string                     `json:"path"`
	Description        string                     `json:"description,omitempty"`
	TrustPolicy        json.RawMessage            `json:"trust_policy"`
	ManagedPolicies    []string                   `json:"managed_policies"`
	InlinePolicies     map[string]json.RawMessage `json:"inline_policies,omitempty"`
	PermissionBoundary string                     `json:"permission_boundary,omitempty"`
	MaxSessionDuration string                     `json:"max_session_duration"`
	RequireMFA         bool                       `json:"require_mfa"`
	Source             string                     `json:"source,omitempty"`
	CreatedAt          time.Time                  `json:"created_at"`
	UpdatedAt          time.Time                  `json:"updated_at"`
	Version            int64                      `json:"version"`
}

func roleView(r store.Role) Role {
	mp := r.ManagedPolicies
	if mp == nil {
		mp = []string{}
	}
	return Role{
		ID: r.ID, ARN: r.ARN, Name: r.Name, Path: r.Path, Description: r.Description,
		TrustPolicy: r.TrustPolicy, ManagedPolicies: mp, InlinePolicies: r.InlinePolicies,
		PermissionBoundary: r.PermissionBoundary, MaxSessionDuration: r.MaxSessionDuration.String(),
		RequireMFA: r.RequireMFA, Source: r.Source,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version,
	}
}

func (a *API) account() string {
	if a.d.Account != "" {
		return a.d.Account
	}
	return roles.DefaultAccount
}

// fieldIssues adds the field errors of a validator's errors.Join tree to is.
func fieldIssues(is *issues, err error, fallback string) {
	for _, fe := range declare.FieldErrors(err) {
		field := fe.Path
		if field == "" {
			field = fallback
		}
		is.addMsg(field, fe.Msg)
	}
}

func (a *API) listRoles(w http.ResponseWriter, r *http.Request, _ *call) error {
	rs, err := a.d.Store.ListRoles(r.Context())
	if err != nil {
		return storeErr(err, "roles", "")
	}
	out := make([]Role, 0, len(rs))
	for _, x := range rs {
		out = append(out, roleView(x))
	}
	return writeJSON(w, http.StatusOK, list[Role]{Items: out})
}

// roleRequest is the body of create (all fields) and PATCH (fields present change).
type roleRequest struct {
	Name               *string                     `json:"name"`
	Path               *string                     `json:"path"`
	Description        *string                     `json:"description"`
	TrustPolicy        *json.RawMessage            `json:"trust_policy"`
	ManagedPolicies    *[]string                   `json:"managed_policies"`
	InlinePolicies     *map[string]json.RawMessage `json:"inline_policies"`
	PermissionBoundary *string                     `json:"permission_boundary"`
	MaxSessionDuration *string                     `json:"max_session_duration"`
	RequireMFA         *bool                       `json:"require_mfa"`
}

// applyTo copies the present fields onto ro and reports which changed.
func (req roleRequest) applyTo(ro *store.Role, is *issues) []string {
	var changed []string
	str := func(name string, dst, src *string) {
		if src != nil && *src != *dst {
			*dst, changed = *src, append(changed, name)
		}
	}
	str("name", &ro.Name, req.Name)
	str("path", &ro.Path, req.Path)
	str("description", &ro.Description, req.Description)
	str("permission_boundary", &ro.PermissionBoundary, req.PermissionBoundary)
	if req.TrustPolicy != nil && !sameJSON(*req.TrustPolicy, ro.TrustPolicy) {
		ro.TrustPolicy, changed = *req.TrustPolicy, append(changed, "trust_policy")
	}
	if req.ManagedPolicies != nil && !slices.Equal(*req.ManagedPolicies, ro.ManagedPolicies) {
		ro.ManagedPolicies, changed = slices.Clone(*req.ManagedPolicies), append(changed, "managed_policies")
	}
	if req.InlinePolicies != nil && !maps.EqualFunc(*req.InlinePolicies, ro.InlinePolicies, sameJSON) {
		ro.InlinePolicies, changed = maps.Clone(*req.InlinePolicies), append(changed, "inline_policies")
	}
	if req.MaxSessionDuration != nil {
		d := parseDuration("max_session_duration", req.MaxSessionDuration, is)
		if d == 0 {
			d = store.DefaultRoleSessionDuration
		}
		if d != ro.MaxSessionDuration {
			ro.MaxSessionDuration, changed = d, append(changed, "max_session_duration")
		}
	}
	if req.RequireMFA != nil && *req.RequireMFA != ro.RequireMFA {
		ro.RequireMFA, changed = *req.RequireMFA, append(changed, "require_mfa")
	}
	return changed
}

// sameJSON compares two documents ignoring insignificant white space.
func sameJSON(x, y json.RawMessage) bool {
	return compactString(x) == compactString(y)
}

func compactString(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// checkRole validates ro and that every policy it names exists.
func (a *API) checkRole(r *http.Request, ro store.Role, is *issues) error {
	fieldIssues(is, roles.ValidateRole(ro, a.d.Policies), "role")
	exists := func(field, name string) error {
		if roles.CheckPolicyName(name) != nil {
			return nil // already reported
		}
		_, err := a.d.Store.GetManagedPolicy(r.Context(), name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			is.addMsg(field, "no managed policy with this name")
		case err != nil:
			return storeErr(err, "managed policy", "")
		}
		return nil
	}
	for i, name := range ro.ManagedPolicies {
		if err := exists(fmt.Sprintf("managed_policies[%d]", i), name); err != nil {
			return err
		}
	}
	if ro.PermissionBoundary != "" {
		if err := exists("permission_boundary", ro.PermissionBoundary); err != nil {
			return err
		}
	}
	return is.err()
}

func (a *API) createRole(w http.ResponseWriter, r *http.Request, c *call) error {
	var req roleRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	var is issues
	var ro store.Role
	req.applyTo(&ro, &is)
	ro = roles.WithDefaults(ro, a.account())
	c.target = "role:" + ro.Name
	if err := a.checkRole(r, ro, &is); err != nil {
		return err
	}
	created, err := a.d.Store.CreateRole(r.Context(), ro)
	if err != nil {
		return storeErr(err, "role", "name")
	}
	c.details = map[string]string{"arn": created.ARN}
	setETag(w, created.Version)
	w.Header().Set("Location", Prefix+"/roles/"+created.Name)
	return writeJSON(w, http.StatusCreated, roleView(created))
}

func (a *API) getRole(w http.ResponseWriter, r *http.Request, _ *call) error {
	ro, err := a.d.Store.GetRoleByName(r.Context(), r.PathValue("name"))
	if err != nil {
		return storeErr(err, "role", "")
	}
	setETag(w, ro.Version)
	return writeJSON(w, http.StatusOK, roleView(ro))
}

func (a *API) patchRole(w http.ResponseWriter, r *http.Request, c *call) error {
	name := r.PathValue("name")
	c.target = "role:" + name
	var req roleRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	cur, err := a.d.Store.GetRoleByName(r.Context(), name)
	if err != nil {
		return storeErr(err, "role", "")
	}
	if err := checkIfMatch(r, cur.Version); err != nil {
		return err
	}
	next := cur
	var is issues
	changed := req.applyTo(&next, &is)
	// A rename or a new path moves the ARN; the account stays what it was.
	next = roles.WithDefaults(next, roles.AccountOf(cur.ARN))
	if err := a.checkRole(r, next, &is); err != nil {
		return err
	}
	c.details = map[string]string{"fields": strings.Join(changed, ",")}
	out := cur
	if len(changed) > 0 {
		if out, err = a.d.Store.UpdateRole(r.Context(), next); err != nil {
			return storeErr(err, "role", "name")
		}
	}
	setETag(w, out.Version)
	return writeJSON(w, http.StatusOK, roleView(out))
}

func (a *API) deleteRole(w http.ResponseWriter, r *http.Request, c *call) error {
	name := r.PathValue("name")
	c.target = "role:" + name
	cur, err := a.d.Store.GetRoleByName(r.Context(), name)
	if err != nil {
		return storeErr(err, "role", "")
	}
	if err := checkIfMatch(r, cur.Version); err != nil {
		return err
	}
	c.details = map[string]string{"arn": cur.ARN}
	if err := a.d.Store.DeleteRole(r.Context(), cur.ID); err != nil {
		return storeErr(err, "role", "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// UserRoles is the answer of GET /users/{id}/roles.
type UserRoles struct {
	UserID string        `json:"user_id"`
	Source string        `json:"source"`
	Items  []roles.Grant `json:"items"`
}

// userRoles computes the roles the mapping rules grant the user now, with the rule
// behind each. The API cannot know whether a future sign-in will pass a second factor
// or from where, so rules that require MFA or a source address do not count here.
func (a *API) userRoles(w http.ResponseWriter, r *http.Request, _ *call) error {
	u, err := a.d.Store.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err, "user", "")
	}
	gs, err := a.d.Store.GroupsOfUser(r.Context(), u.ID)
	if err != nil {
		return storeErr(err, "groups", "")
	}
	rules, err := a.d.Store.ListRoleMappings(r.Context())
	if err != nil {
		return storeErr(err, "role mappings", "")
	}
	in := roles.Input{Source: u.Source}
	// Users from files or the API live in the local directory.
	if in.Source == "" || in.Source == declare.SourceDeclarative {
		in.Source = store.MappingSourceLocal
	}
	for _, g := range gs {
		in.Groups = append(in.Groups, g.DisplayName)
	}
	grants := roles.Evaluate(rules, in)
	if grants == nil {
		grants = []roles.Grant{}
	}
	return writeJSON(w, http.StatusOK, UserRoles{UserID: u.ID, Source: in.Source, Items: grants})
}

// checkRoleNames reports each name in names that is not a role.
func (a *API) checkRoleNames(r *http.Request, field string, names []string, is *issues) error {
	for i, n := range names {
		if roles.CheckRoleName(n) != nil {
			continue // reported by validation
		}
		_, err := a.d.Store.GetRoleByName(r.Context(), n)
		switch {
		case errors.Is(err, store.ErrNotFound):
			is.addMsg(fmt.Sprintf("%s[%d]", field, i), "no role with this name")
		case err != nil:
			return storeErr(err, "role", "")
		}
	}
	return nil
}
