package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/portcullis-id/portcullis/idp/roles"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/httperr"
)

func (a *API) mountPolicies(mux *http.ServeMux) {
	a.route(mux, "GET "+Prefix+"/policies", "admin.policy.list", a.listPolicies)
	a.route(mux, "POST "+Prefix+"/policies", "admin.policy.create", a.createPolicy)
	a.route(mux, "GET "+Prefix+"/policies/{name}", "admin.policy.get", a.getPolicy)
	a.route(mux, "PATCH "+Prefix+"/policies/{name}", "admin.policy.update", a.patchPolicy)
	a.route(mux, "DELETE "+Prefix+"/policies/{name}", "admin.policy.delete", a.deletePolicy)
	a.route(mux, "POST "+Prefix+"/policies/{name}/versions", "admin.policy.version.create", a.createPolicyVersion)
	a.route(mux, "PUT "+Prefix+"/policies/{name}/default", "admin.policy.version.default", a.setDefaultPolicyVersion)
}

func (a *API) listPolicies(w http.ResponseWriter, r *http.Request, _ *call) error {
	ps, err := a.d.Store.ListManagedPolicies(r.Context())
	if err != nil {
		return storeErr(err, "managed policies", "")
	}
	if ps == nil {
		ps = []store.ManagedPolicy{}
	}
	return writeJSON(w, http.StatusOK, list[store.ManagedPolicy]{Items: ps})
}

type policyCreate struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Document    json.RawMessage `json:"document"`
}

func (a *API) createPolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	var req policyCreate
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	c.target = "policy:" + req.Name
	var is issues
	fieldIssues(&is, roles.ValidatePolicy(req.Name, req.Description, req.Document, a.d.Policies), "document")
	if err := is.err(); err != nil {
		return err
	}
	p, err := a.d.Store.CreateManagedPolicy(r.Context(), store.ManagedPolicy{
		Name:        req.Name,
		Description: req.Description,
		Versions:    []store.PolicyVersion{{Document: req.Document}},
	})
	if err != nil {
		return storeErr(err, "managed policy", "name")
	}
	setETag(w, p.Version)
	w.Header().Set("Location", Prefix+"/policies/"+p.Name)
	return writeJSON(w, http.StatusCreated, p)
}

func (a *API) getPolicy(w http.ResponseWriter, r *http.Request, _ *call) error {
	p, err := a.d.Store.GetManagedPolicy(r.Context(), r.PathValue("name"))
	if err != nil {
		return storeErr(err, "managed policy", "")
	}
	setETag(w, p.Version)
	return writeJSON(w, http.StatusOK, p)
}

// policyFor reads the policy a change is about, checks If-Match and names the target.
func (a *API) policyFor(r *http.Request, c *call) (store.ManagedPolicy, error) {
	name := r.PathValue("name")
	c.target = "policy:" + name
	p, err := a.d.Store.GetManagedPolicy(r.Context(), name)
	if err != nil {
		return store.ManagedPolicy{}, storeErr(err, "managed policy", "")
	}
	c.target = "policy:" + p.Name
	if err := checkIfMatch(r, p.Version); err != nil {
		return store.ManagedPolicy{}, err
	}
	return p, nil
}

type policyPatch struct {
	Description *string `json:"description"`
}

func (a *API) patchPolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	var req policyPatch
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	cur, err := a.policyFor(r, c)
	if err != nil {
		return err
	}
	out := cur
	if req.Description != nil && *req.Description != cur.Description {
		var is issues
		// The document is unchanged and valid; only the description is checked.
		fieldIssues(&is, roles.ValidatePolicy(cur.Name, *req.Description, []byte("{}"), nil), "description")
		if err := is.err(); err != nil {
			return err
		}
		next := cur
		next.Description = *req.Description
		if out, err = a.d.Store.UpdateManagedPolicy(r.Context(), next); err != nil {
			return storeErr(err, "managed policy", "")
		}
		c.details = map[string]string{"fields": "description"}
	}
	setETag(w, out.Version)
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) deletePolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	cur, err := a.policyFor(r, c)
	if err != nil {
		return err
	}
	// Name the roles that still use the policy, so the administrator knows what to
	// detach; the store refuses the delete on its own too.
	rs, err := a.d.Store.ListRoles(r.Context())
	if err != nil {
		return storeErr(err, "roles", "")
	}
	var holders []string
	for _, ro := range rs {
		if strings.EqualFold(ro.PermissionBoundary, cur.Name) || containsFold(ro.ManagedPolicies, cur.Name) {
			holders = append(holders, ro.Name)
		}
	}
	if len(holders) > 0 {
		return errInUse(cur.Name, holders, nil)
	}
	err = a.d.Store.DeleteManagedPolicy(r.Context(), cur.Name)
	if errors.Is(err, store.ErrConflict) {
		return errInUse(cur.Name, nil, err)
	}
	if err != nil {
		return storeErr(err, "managed policy", "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func errInUse(policy string, roleNames []string, err error) error {
	msg := "managed policy " + policy + " is attached to a role; detach it first"
	if len(roleNames) > 0 {
		msg = fmt.Sprintf("managed policy %s is attached to or bounds role(s) %s; detach it first", policy, strings.Join(roleNames, ", "))
	}
	return &httperr.Error{Status: http.StatusConflict, Code: "in_use", Msg: msg, Err: err}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

type policyVersionCreate struct {
	Document   json.RawMessage `json:"document"`
	SetDefault bool            `json:"set_default"`
}

func (a *API) createPolicyVersion(w http.ResponseWriter, r *http.Request, c *call) error {
	var req policyVersionCreate
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	cur, err := a.policyFor(r, c)
	if err != nil {
		return err
	}
	var is issues
	fieldIssues(&is, roles.ValidatePolicy(cur.Name, cur.Description, req.Document, a.d.Policies), "document")
	if err := is.err(); err != nil {
		return err
	}
	// cur.Version makes the write conditional on what If-Match was checked against.
	p, err := a.d.Store.CreatePolicyVersion(r.Context(), cur.Name, cur.Version, req.Document, req.SetDefault)
	if err != nil {
		return storeErr(err, "managed policy", "")
	}
	n := p.Versions[len(p.Versions)-1].Version
	c.details = map[string]string{"version": strconv.Itoa(n), "set_default": strconv.FormatBool(req.SetDefault)}
	setETag(w, p.Version)
	return writeJSON(w, http.StatusCreated, p)
}

type defaultVersion struct {
	Version *int `json:"version"`
}

func (a *API) setDefaultPolicyVersion(w http.ResponseWriter, r *http.Request, c *call) error {
	var req defaultVersion
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if req.Version == nil {
		return httperr.BadField("version", "is required")
	}
	cur, err := a.policyFor(r, c)
	if err != nil {
		return err
	}
	c.details = map[string]string{"version": strconv.Itoa(*req.Version), "previous": strconv.Itoa(cur.DefaultVersion)}
	p, err := a.d.Store.SetDefaultPolicyVersion(r.Context(), cur.Name, cur.Version, *req.Version)
	if errors.Is(err, store.ErrNotFound) {
		kept := make([]string, 0, len(cur.Versions))
		for _, v := range cur.Versions {
			kept = append(kept, strconv.Itoa(v.Version))
		}
		return httperr.BadField("version", "no such version is kept (kept: "+strings.Join(kept, ", ")+")")
	}
	if err != nil {
		return storeErr(err, "managed policy", "")
	}
	setETag(w, p.Version)
	return writeJSON(w, http.StatusOK, p)
}
