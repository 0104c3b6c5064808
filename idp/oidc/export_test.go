package oidc

import "net/http"

// OpTokenHandler returns the provider's handler without the client_credentials fast
// path: every token request goes to op, as before the fast path existed.
func OpTokenHandler(p *Provider) http.Handler { return p.routes(false) }

// ServeClientCredentials runs the fast path alone on r and reports whether it answered.
func ServeClientCredentials(p *Provider, w http.ResponseWriter, r *http.Request) bool {
	return p.clientCredentials(w, r)
}
