package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// discovery serves the OpenID Provider Metadata from pre-rendered bytes (op rebuilds it
// per request), corrected where op's defaults are untrue for us (LIBRARIES.md §13), and
// re-rendered when the signing algorithms change.
type discovery struct {
	p *Provider

	mu    sync.Mutex
	algs  string
	bytes []byte
}

func newDiscovery(ctx context.Context, p *Provider) (*discovery, error) {
	d := &discovery{p: p}
	if _, err := d.current(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *discovery) current(ctx context.Context) ([]byte, error) {
	algs := d.p.keys.Algorithms()
	sig := strings.Join(algs, ",")
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bytes != nil && d.algs == sig {
		return d.bytes, nil
	}
	b, err := d.render(ctx, algs)
	if err != nil {
		return nil, err
	}
	d.algs, d.bytes = sig, b
	return b, nil
}

func (d *discovery) render(ctx context.Context, algs []string) ([]byte, error) {
	cfg := op.CreateDiscoveryConfig(d.p.issuerCtx(ctx), d.p.op, d.p.storage)
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	for _, k := range []string{
		"device_authorization_endpoint", "check_session_iframe",
		"request_object_signing_alg_values_supported",
		"token_endpoint_auth_signing_alg_values_supported",
		"introspection_endpoint_auth_signing_alg_values_supported",
		"revocation_endpoint_auth_signing_alg_values_supported",
		"ui_locales_supported",
	} {
		delete(m, k)
	}
	m["response_types_supported"] = []string{"code"}
	m["response_modes_supported"] = []string{"query"}
	m["grant_types_supported"] = append(slices.Clone(knownGrantTypes), d.p.cfg.ExtraGrantTypes...)
	m["code_challenge_methods_supported"] = []string{"S256"}
	m["request_parameter_supported"] = false
	m["request_uri_parameter_supported"] = false
	m["token_endpoint_auth_methods_supported"] = []string{"client_secret_basic", "client_secret_post", "none"}
	// op authenticates introspection callers with Basic only (LIBRARIES.md §7).
	m["introspection_endpoint_auth_methods_supported"] = []string{"client_secret_basic"}
	m["revocation_endpoint_auth_methods_supported"] = []string{"client_secret_basic", "client_secret_post", "none"}
	m["id_token_signing_alg_values_supported"] = slices.Clone(algs)
	if len(d.p.cfg.ACRValues) > 0 {
		m["acr_values_supported"] = slices.Clone(d.p.cfg.ACRValues)
	}
	m["subject_types_supported"] = []string{"public"}
	m["scopes_supported"] = supportedScopes
	m["claims_supported"] = supportedClaims
	m["authorization_response_iss_parameter_supported"] = true
	m["backchannel_logout_supported"] = false
	m["backchannel_logout_session_supported"] = false
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	return b, nil
}

func (d *discovery) serve(w http.ResponseWriter, r *http.Request) {
	b, err := d.current(r.Context())
	if err != nil {
		d.p.log.ErrorContext(r.Context(), "render discovery", "err", err)
		http.Error(w, "discovery unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	// Public metadata: any web origin may read it, without credentials.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(b)
}

// serveKeys publishes the JWKS from the key manager's pre-rendered bytes. The max-age
// is short so relying parties pick up a newly published key well within the manager's
// publish-ahead period.
func (p *Provider) serveKeys(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(p.keys.JWKS())
}
