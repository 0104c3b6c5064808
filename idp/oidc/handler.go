package oidc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/portcullis-id/portcullis/store"
)

// Paths of op's routes, relative to the issuer.
const (
	pathAuthorize  = "/authorize"
	pathCallback   = "/authorize/callback"
	pathToken      = "/oauth/token"
	pathIntrospect = "/oauth/introspect"
	pathRevoke     = "/revoke"
	pathUserinfo   = "/userinfo"
	pathEndSession = "/end_session"
	pathKeys       = "/keys"
	pathDevice     = "/device_authorization"
	pathDiscovery  = "/.well-known/openid-configuration"
)

// maxFormBytes bounds request bodies on the OP's endpoints.
const maxFormBytes = 64 << 10

// reqState carries what storage needs from the HTTP request of /authorize, which op
// does not pass it: the browser session, and the id of a request prompt=none completed.
type reqState struct {
	session    store.Session
	hasSession bool
	autoDone   string
}

type reqStateKey struct{}

func reqStateFrom(ctx context.Context) *reqState {
	rs, _ := ctx.Value(reqStateKey{}).(*reqState)
	return rs
}

// routes assembles the handler: our discovery, JWKS and end_session ahead of op, and,
// with fastTokens, the client_credentials fast path in front of op's token endpoint
// (fastpath.go).
func (p *Provider) routes(fastTokens bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathDiscovery, p.disc.serve)
	mux.HandleFunc("GET "+pathKeys, p.serveKeys)
	mux.HandleFunc(pathEndSession, p.serveEndSession)
	mux.Handle(pathDevice, http.NotFoundHandler())
	if fastTokens {
		mux.HandleFunc(pathToken, p.serveToken)
	}
	mux.Handle("/", p.op)
	var h http.Handler = mux
	if p.issuerPath != "" {
		h = http.StripPrefix(p.issuerPath, h)
	}
	return h
}

// interceptors run inside op's router, after its CORS handler (so preflights are
// answered) and after the issuer is in the context.
func (p *Provider) interceptors() []op.HttpInterceptor {
	return []op.HttpInterceptor{p.harden, p.authorizeContext}
}

// harden enforces what op leaves open (LIBRARIES.md §1, §14): POST only where RFC 6749
// §3.2, RFC 7662 §2.1 and RFC 7009 §2.1 require it (GET would put secrets in URLs and
// logs), no caching of responses with tokens or codes (RFC 6749 §5.1), and only the
// grants we offer.
func (p *Provider) harden(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		switch path {
		case pathToken, pathIntrospect, pathRevoke:
			if r.Method != http.MethodPost {
				w.Header().Set("Allow", http.MethodPost)
				http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
				return
			}
		}
		switch path {
		case pathToken, pathIntrospect, pathRevoke, pathUserinfo, pathAuthorize, pathCallback:
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Pragma", "no-cache")
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		}
		if path != pathToken {
			next.ServeHTTP(w, r)
			return
		}
		if err := r.ParseForm(); err != nil {
			writeOAuthError(w, http.StatusBadRequest, zoidc.ErrInvalidRequest().WithDescription("cannot parse form"))
			return
		}
		grantType := r.PostForm.Get("grant_type")
		switch grantType {
		case string(zoidc.GrantTypeCode), string(zoidc.GrantTypeRefreshToken), string(zoidc.GrantTypeClientCredentials), "":
		default:
			// jwt-bearer is always on in op and would otherwise be reachable.
			writeOAuthError(w, http.StatusBadRequest, zoidc.ErrUnsupportedGrantType().WithDescription("grant_type not supported"))
			return
		}
		if r.URL.RawQuery != "" {
			// Parameters belong in the body (RFC 6749 §3.2); op reads both.
			writeOAuthError(w, http.StatusBadRequest, zoidc.ErrInvalidRequest().WithDescription("parameters must be sent in the request body"))
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == http.StatusOK && p.onToken != nil {
			p.onToken(grantType)
		}
	})
}

func writeOAuthError(w http.ResponseWriter, status int, e *zoidc.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}

// statusWriter records the status code.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// authorizeContext prepares /authorize and its callback: it puts the browser session in
// the context (prompt=none), refuses native redirect URIs that differ from a registered
// one in more than the port, binds the callback to the browser that logged in, and adds
// iss to every redirect back to the client (RFC 9207).
func (p *Provider) authorizeContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != pathAuthorize && r.URL.Path != pathCallback {
			next.ServeHTTP(w, r)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, "cannot parse request", http.StatusBadRequest)
			return
		}
		rs := &reqState{}
		if p.sessionFn != nil {
			rs.session, rs.hasSession = p.sessionFn(r)
		}
		ctx := r.Context()
		if r.URL.Path == pathAuthorize {
			if msg := p.checkNativeRedirect(ctx, r.Form.Get("client_id"), r.Form.Get("redirect_uri")); msg != "" {
				// RFC 6749 §4.1.2.1: never redirect to an unverified redirect_uri.
				http.Error(w, msg, http.StatusBadRequest)
				return
			}
		} else if !p.callbackAllowed(ctx, r.Form.Get("id"), rs) {
			http.Error(w, "this sign-in belongs to another browser session", http.StatusBadRequest)
			return
		}
		r = r.WithContext(context.WithValue(ctx, reqStateKey{}, rs))
		next.ServeHTTP(&issWriter{ResponseWriter: w, p: p}, r)
	})
}

// checkNativeRedirect returns why redirect is not acceptable for a native client, or
// "". op lets a native client's loopback redirect vary in anything but path and query
// (it compares only those); RFC 8252 §7.3 allows the port alone to vary.
func (p *Provider) checkNativeRedirect(ctx context.Context, clientID, redirect string) string {
	if clientID == "" || redirect == "" {
		return ""
	}
	c, err := p.st.GetClient(ctx, clientID)
	if err != nil || !c.Native || slices.Contains(c.RedirectURIs, redirect) {
		return "" // op handles unknown clients and exact matches
	}
	if loopbackPortVariant(c.RedirectURIs, redirect) {
		return ""
	}
	return "redirect_uri is not registered for this client"
}

// loopbackPortVariant reports whether got equals one of registered, both http loopback
// URIs, in everything but the port.
func loopbackPortVariant(registered []string, got string) bool {
	g, err := url.Parse(got)
	if err != nil || g.Scheme != "http" || g.User != nil || g.Fragment != "" || g.Opaque != "" || !isLoopbackHost(g.Hostname()) {
		return false
	}
	for _, reg := range registered {
		u, err := url.Parse(reg)
		if err != nil || u.Scheme != "http" || !isLoopbackHost(u.Hostname()) {
			continue
		}
		if u.Hostname() == g.Hostname() && u.EscapedPath() == g.EscapedPath() && u.RawQuery == g.RawQuery {
			return true
		}
	}
	return false
}

// callbackAllowed binds the callback to the browser session that completed the
// request, so a leaked request id cannot be redeemed from another browser.
func (p *Provider) callbackAllowed(ctx context.Context, id string, rs *reqState) bool {
	if p.sessionFn == nil || id == "" {
		return true
	}
	ar, err := p.st.GetAuthRequest(ctx, id)
	if err != nil || !ar.Done {
		return true // op answers unknown and unfinished requests itself
	}
	return rs.hasSession && rs.session.ID == ar.SessionID
}

// issWriter adds iss to redirects that leave for the client (RFC 9207 §2). Redirects to
// our own login UI or callback are left alone.
type issWriter struct {
	http.ResponseWriter
	p    *Provider
	done bool
}

func (w *issWriter) WriteHeader(code int) {
	if !w.done && (code == http.StatusFound || code == http.StatusSeeOther) {
		w.done = true
		if loc := w.Header().Get("Location"); loc != "" && !w.p.ownURL(loc) {
			if u, err := url.Parse(loc); err == nil {
				// The parameters are in the fragment when op answers in fragment
				// mode (an error for a request that asked for it).
				if u.Fragment != "" {
					q, _ := url.ParseQuery(u.Fragment)
					q.Set("iss", w.p.cfg.Issuer)
					u.Fragment = q.Encode()
				} else {
					q := u.Query()
					q.Set("iss", w.p.cfg.Issuer)
					u.RawQuery = q.Encode()
				}
				w.Header().Set("Location", u.String())
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *issWriter) Write(b []byte) (int, error) {
	w.done = true
	return w.ResponseWriter.Write(b)
}

// ownURL reports whether loc points at our login UI or callback.
func (p *Provider) ownURL(loc string) bool {
	return strings.HasPrefix(loc, p.issuerPath+p.cfg.LoginPath+"?") ||
		strings.HasPrefix(loc, p.issuerPath+pathCallback+"?") ||
		strings.HasPrefix(loc, p.cfg.Issuer+pathCallback+"?")
}
