package oidc

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/store"
)

// serveEndSession implements RP-Initiated Logout 1.0 §2-3. It replaces op's handler,
// which answers an unregistered post_logout_redirect_uri with an error page without
// logging out, lets native loopback URIs vary, and cannot see the browser session.
//
// The browser session is always revoked. The browser goes to post_logout_redirect_uri
// (with state) only if it exactly matches one registered for the client named by the
// id_token_hint's azp or by client_id (§3: "MUST NOT" redirect otherwise); in every
// other case to Config.LoggedOutPath.
func (p *Provider) serveEndSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "cannot parse request", http.StatusBadRequest)
		return
	}
	ctx := p.issuerCtx(r.Context())
	clientID := r.Form.Get("client_id")
	hintOK := true
	if hint := r.Form.Get("id_token_hint"); hint != "" {
		// §2: an expired hint is still a valid hint, as long as we signed it.
		claims, err := op.VerifyIDTokenHint[*zoidc.IDTokenClaims](ctx, hint, p.op.IDTokenHintVerifier(ctx))
		var expired op.IDTokenHintExpiredError
		if err != nil && !errors.As(err, &expired) {
			hintOK = false
		} else {
			azp := claims.GetAuthorizedParty()
			if azp == "" && len(claims.GetAudience()) == 1 {
				azp = claims.GetAudience()[0]
			}
			if clientID != "" && clientID != azp {
				hintOK = false
			}
			clientID = azp
		}
	}

	if p.sessionFn != nil {
		if sess, ok := p.sessionFn(r); ok {
			if err := p.st.RevokeSession(ctx, sess.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				p.log.ErrorContext(ctx, "end session: revoke session", "err", err)
				http.Error(w, "logout failed", http.StatusInternalServerError)
				return
			}
			p.audit.Record(ctx, audit.Event{Actor: sess.UserID, Action: "oidc.logout", Target: clientID,
				Outcome: audit.Success, SourceIP: sourceIP(r)})
		}
	}

	target := p.issuerPath + p.cfg.LoggedOutPath
	if plr := r.Form.Get("post_logout_redirect_uri"); plr != "" && hintOK && clientID != "" {
		if c, err := p.st.GetClient(ctx, clientID); err == nil && slices.Contains(c.PostLogoutRedirectURIs, plr) {
			if u, err := url.Parse(plr); err == nil {
				if state := r.Form.Get("state"); state != "" {
					q := u.Query()
					q.Set("state", state)
					u.RawQuery = q.Encode()
				}
				target = u.String()
			}
		}
	}
	http.Redirect(w, r, target, http.StatusFound)
}
