package api

import (
	"fmt"
	"net/http"

	"github.com/portcullis-id/portcullis/web/httperr"
)

func (a *API) mountKeys(mux *http.ServeMux) {
	a.route(mux, "GET "+Prefix+"/keys", "admin.key.list", a.listKeys)
	a.route(mux, "POST "+Prefix+"/keys/rotate", "admin.key.rotate", a.rotateKeys)
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request, _ *call) error {
	ks, err := a.d.Keys.List(r.Context())
	if err != nil {
		return httperr.Internal(fmt.Errorf("list signing keys: %w", err))
	}
	if ks == nil {
		ks = []KeyInfo{}
	}
	return writeJSON(w, http.StatusOK, list[KeyInfo]{Items: ks})
}

func (a *API) rotateKeys(w http.ResponseWriter, r *http.Request, c *call) error {
	c.target = "keys"
	if err := a.d.Keys.Rotate(r.Context()); err != nil {
		return httperr.Internal(fmt.Errorf("rotate signing keys: %w", err))
	}
	return a.listKeys(w, r, c)
}
