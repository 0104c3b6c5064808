package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/httperr"
)

// ProviderService validates run-time federation settings (trusted web-identity
// issuers, SAML providers of the STS) and puts them into force once stored.
type ProviderService interface {
	// Validate checks cfg, the kind's settings as JSON; errors name the field.
	Validate(kind, name string, cfg json.RawMessage) error
	// Static lists the providers of kind defined in the configuration file. They are
	// shown by the API but cannot be changed through it.
	Static(kind string) []store.Provider
	// Changed is called after a provider of kind was created, updated or deleted.
	Changed(ctx context.Context)
}

// providerPaths maps each URL collection to the provider kind it manages.
var providerPaths = map[string]string{
	"trusted-issuers": store.ProviderWebIdentity,
	"saml-providers":  store.ProviderSAML,
}

func (a *API) mountProviders(mux *http.ServeMux) {
	for path, kind := range providerPaths {
		action := "admin." + kind + "."
		h := providerHandlers{a: a, kind: kind, path: Prefix + "/" + path}
		a.route(mux, "GET "+h.path, action+"list", h.list)
		a.route(mux, "POST "+h.path, action+"create", h.create)
		a.route(mux, "GET "+h.path+"/{name}", action+"get", h.get)
		a.route(mux, "PUT "+h.path+"/{name}", action+"update", h.update)
		a.route(mux, "DELETE "+h.path+"/{name}", action+"delete", h.delete)
	}
}

type providerHandlers struct {
	a    *API
	kind string
	path string
}

// providerRequest is the body of create (name and config) and update (config).
type providerRequest struct {
	Name   string          `json:"name"`
	Config json.RawMessage `json:"config"`
}

func (h providerHandlers) service() (ProviderService, error) {
	if h.a.d.Providers == nil {
		return nil, &httperr.Error{Status: http.StatusNotImplemented, Code: "not_implemented", Msg: "run-time federation settings are not enabled on this server"}
	}
	return h.a.d.Providers, nil
}

func (h providerHandlers) static(name string) (store.Provider, bool) {
	if h.a.d.Providers == nil {
		return store.Provider{}, false
	}
	for _, p := range h.a.d.Providers.Static(h.kind) {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return store.Provider{}, false
}

func (h providerHandlers) list(w http.ResponseWriter, r *http.Request, _ *call) error {
	var out []store.Provider
	if h.a.d.Providers != nil {
		out = append(out, h.a.d.Providers.Static(h.kind)...)
	}
	stored, err := h.a.d.Store.ListProviders(r.Context(), h.kind)
	if err != nil {
		return storeErr(err, h.kind, "")
	}
	out = append(out, stored...)
	if out == nil {
		out = []store.Provider{}
	}
	return writeJSON(w, http.StatusOK, list[store.Provider]{Items: out})
}

func (h providerHandlers) get(w http.ResponseWriter, r *http.Request, _ *call) error {
	name := r.PathValue("name")
	if p, ok := h.static(name); ok {
		return writeJSON(w, http.StatusOK, p)
	}
	p, err := h.a.d.Store.GetProvider(r.Context(), h.kind, name)
	if err != nil {
		return storeErr(err, h.kind, "")
	}
	setETag(w, p.Version)
	return writeJSON(w, http.StatusOK, p)
}

// validate checks the request's config and reports problems under "config".
func (h providerHandlers) validate(svc ProviderService, name string, cfg json.RawMessage) error {
	var is issues
	if len(cfg) == 0 || string(cfg) == "null" {
		is.addMsg("config", "required: the "+strings.ReplaceAll(h.kind, "_", " ")+"'s settings as a JSON object")
		return is.err()
	}
	if err := svc.Validate(h.kind, name, cfg); err != nil {
		is.add("config", err)
	}
	return is.err()
}

var errStaticProvider = &httperr.Error{Status: http.StatusConflict, Code: "read_only",
	Msg: "defined in the configuration file; change it there"}

func (h providerHandlers) create(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := h.service()
	if err != nil {
		return err
	}
	var req providerRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	c.target = h.kind + ":" + req.Name
	if req.Name == "" {
		return httperr.BadField("name", "required")
	}
	if _, ok := h.static(req.Name); ok {
		return &httperr.Error{Status: http.StatusConflict, Code: "already_exists", Field: "name", Msg: "a provider of that name is defined in the configuration file"}
	}
	if err := h.validate(svc, req.Name, req.Config); err != nil {
		return err
	}
	p, err := h.a.d.Store.CreateProvider(r.Context(), store.Provider{Kind: h.kind, Name: req.Name, Config: req.Config, Source: "api"})
	if err != nil {
		return storeErr(err, h.kind, "name")
	}
	svc.Changed(r.Context())
	c.details = providerDigest(p)
	setETag(w, p.Version)
	w.Header().Set("Location", h.path+"/"+p.Name)
	return writeJSON(w, http.StatusCreated, p)
}

func (h providerHandlers) update(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := h.service()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	c.target = h.kind + ":" + name
	if _, ok := h.static(name); ok {
		return errStaticProvider
	}
	var req providerRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if req.Name != "" && !strings.EqualFold(req.Name, name) {
		return httperr.BadField("name", "cannot be changed; create a provider under the new name and delete this one")
	}
	cur, err := h.a.d.Store.GetProvider(r.Context(), h.kind, name)
	if err != nil {
		return storeErr(err, h.kind, "")
	}
	if err := checkIfMatch(r, cur.Version); err != nil {
		return err
	}
	if err := h.validate(svc, cur.Name, req.Config); err != nil {
		return err
	}
	next := cur
	next.Config, next.Source = req.Config, "api"
	out, err := h.a.d.Store.UpdateProvider(r.Context(), next)
	if err != nil {
		return storeErr(err, h.kind, "")
	}
	svc.Changed(r.Context())
	c.details = providerDigest(out)
	setETag(w, out.Version)
	return writeJSON(w, http.StatusOK, out)
}

func (h providerHandlers) delete(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := h.service()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	c.target = h.kind + ":" + name
	if _, ok := h.static(name); ok {
		return errStaticProvider
	}
	cur, err := h.a.d.Store.GetProvider(r.Context(), h.kind, name)
	if err != nil {
		return storeErr(err, h.kind, "")
	}
	if err := checkIfMatch(r, cur.Version); err != nil {
		return err
	}
	if err := h.a.d.Store.DeleteProvider(r.Context(), h.kind, name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return storeErr(err, h.kind, "")
	}
	svc.Changed(r.Context())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// providerDigest is what the audit event keeps of a provider: its name and a digest
// of its settings, so a change is visible without copying keys or metadata.
func providerDigest(p store.Provider) map[string]string {
	sum := sha256.Sum256(p.Config)
	return map[string]string{"name": p.Name, "config_sha256": hex.EncodeToString(sum[:]), "version": strconv.FormatInt(p.Version, 10)}
}
