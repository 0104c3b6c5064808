package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/portcullis-id/portcullis/idp/roles"
	"github.com/portcullis-id/portcullis/store"
)

func (a *API) mountRoleMappings(mux *http.ServeMux) {
	a.route(mux, "GET "+Prefix+"/role-mappings", "admin.role_mapping.list", a.listRoleMappings)
	a.route(mux, "POST "+Prefix+"/role-mappings", "admin.role_mapping.create", a.createRoleMapping)
	a.route(mux, "GET "+Prefix+"/role-mappings/{id}", "admin.role_mapping.get", a.getRoleMapping)
	a.route(mux, "PATCH "+Prefix+"/role-mappings/{id}", "admin.role_mapping.update", a.patchRoleMapping)
	a.route(mux, "DELETE "+Prefix+"/role-mappings/{id}", "admin.role_mapping.delete", a.deleteRoleMapping)
}

func (a *API) listRoleMappings(w http.ResponseWriter, r *http.Request, _ *call) error {
	if name := r.URL.Query().Get("name"); name != "" {
		m, err := a.d.Store.GetRoleMappingByName(r.Context(), name)
		if errors.Is(err, store.ErrNotFound) {
			return writeJSON(w, http.StatusOK, list[store.RoleMapping]{Items: []store.RoleMapping{}})
		}
		if err != nil {
			return storeErr(err, "role mapping", "")
		}
		return writeJSON(w, http.StatusOK, list[store.RoleMapping]{Items: []store.RoleMapping{m}})
	}
	ms, err := a.d.Store.ListRoleMappings(r.Context())
	if err != nil {
		return storeErr(err, "role mappings", "")
	}
	if ms == nil {
		ms = []store.RoleMapping{}
	}
	return writeJSON(w, http.StatusOK, list[store.RoleMapping]{Items: ms})
}

// mappingRequest is the body of create (all fields) and PATCH (fields present change).
type mappingRequest struct {
	Name        *string             `json:"name"`
	Source      *string             `json:"source"`
	Match       *store.MappingMatch `json:"match"`
	RequireMFA  *bool               `json:"require_mfa"`
	SourceCIDRs *[]string           `json:"source_cidrs"`
	Roles       *[]string           `json:"roles"`
}

func (req mappingRequest) applyTo(m *store.RoleMapping) []string {
	var changed []string
	str := func(name string, dst, src *string) {
		if src != nil && *src != *dst {
			*dst, changed = *src, append(changed, name)
		}
	}
	strs := func(name string, dst, src *[]string) {
		if src != nil && !slices.Equal(*src, *dst) {
			*dst, changed = slices.Clone(*src), append(changed, name)
		}
	}
	str("name", &m.Name, req.Name)
	str("source", &m.Source, req.Source)
	if req.Match != nil && *req.Match != m.Match {
		m.Match, changed = *req.Match, append(changed, "match")
	}
	if req.RequireMFA != nil && *req.RequireMFA != m.RequireMFA {
		m.RequireMFA, changed = *req.RequireMFA, append(changed, "require_mfa")
	}
	strs("source_cidrs", &m.SourceCIDRs, req.SourceCIDRs)
	strs("roles", &m.Roles, req.Roles)
	return changed
}

// checkMapping validates m and that the roles it grants exist: a rule naming a
// misspelt role would silently grant nothing.
func (a *API) checkMapping(r *http.Request, m store.RoleMapping) error {
	var is issues
	fieldIssues(&is, roles.ValidateMapping(m), "role_mapping")
	if err := a.checkRoleNames(r, "roles", m.Roles, &is); err != nil {
		return err
	}
	return is.err()
}

func (a *API) createRoleMapping(w http.ResponseWriter, r *http.Request, c *call) error {
	var req mappingRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	var m store.RoleMapping
	req.applyTo(&m)
	c.target = "role_mapping:" + m.Name
	if err := a.checkMapping(r, m); err != nil {
		return err
	}
	created, err := a.d.Store.CreateRoleMapping(r.Context(), m)
	if err != nil {
		return storeErr(err, "role mapping", "name")
	}
	c.target = "role_mapping:" + created.ID
	c.details = map[string]string{"name": created.Name, "roles": strings.Join(created.Roles, ",")}
	setETag(w, created.Version)
	w.Header().Set("Location", Prefix+"/role-mappings/"+created.ID)
	return writeJSON(w, http.StatusCreated, created)
}

func (a *API) getRoleMapping(w http.ResponseWriter, r *http.Request, _ *call) error {
	m, err := a.d.Store.GetRoleMapping(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err, "role mapping", "")
	}
	setETag(w, m.Version)
	return writeJSON(w, http.StatusOK, m)
}

func (a *API) patchRoleMapping(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.target = "role_mapping:" + id
	var req mappingRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	cur, err := a.d.Store.GetRoleMapping(r.Context(), id)
	if err != nil {
		return storeErr(err, "role mapping", "")
	}
	if err := checkIfMatch(r, cur.Version); err != nil {
		return err
	}
	next := cur
	changed := req.applyTo(&next)
	if err := a.checkMapping(r, next); err != nil {
		return err
	}
	c.details = map[string]string{"fields": strings.Join(changed, ",")}
	out := cur
	if len(changed) > 0 {
		if out, err = a.d.Store.UpdateRoleMapping(r.Context(), next); err != nil {
			return storeErr(err, "role mapping", "name")
		}
	}
	setETag(w, out.Version)
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) deleteRoleMapping(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.target = "role_mapping:" + id
	cur, err := a.d.Store.GetRoleMapping(r.Context(), id)
	if err != nil {
		return storeErr(err, "role mapping", "")
	}
	if err := checkIfMatch(r, cur.Version); err != nil {
		return err
	}
	c.details = map[string]string{"name": cur.Name}
	if err := a.d.Store.DeleteRoleMapping(r.Context(), id); err != nil {
		return storeErr(err, "role mapping", "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
