package oidc

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The client_credentials grant is the token endpoint's hot path: machine clients ask
// for a token per job or per call. Served by op, each request also pays for op's
// router, CORS handler, tracing spans, reflective form decoding and three client
// lookups, together more than the ES256 signature. serveToken answers the plain form of
// that request itself and gives op everything else, unchanged.
//
// "Plain" means: POST, a body of media type application/x-www-form-urlencoded, no
// query string, no Origin header (browsers go through op's CORS handler) and
// grant_type=client_credentials as the first grant_type of the body. The answer is
// op's, step by step (op/token_client_credentials.go:ClientCredentialsExchange, the
// harden interceptor and rs/cors as configured in cors.go):
//
//   - credentials from HTTP Basic, each part URL-unescaped (RFC 6749 §2.3.1), else
//     from the client_id and client_secret form fields, whatever the client's
//     registered auth method; op's form decoder matches field names without regard to
//     case and takes the last of repeated values, and so does clientCredentialsForm;
//   - the secret checked by storage.authenticateClient (regulator, constant-time
//     digest comparison, audit);
//   - unauthorized_client unless the client has the grant;
//   - scopes filtered by clientCredentialsScopes, the token issued by
//     storage.newAccessToken, as op's path does through storage;
//   - errors written by op.RequestError, the success as op's JSON writer does, with
//     Cache-Control: no-store, Pragma: no-cache and Vary: Origin; OnToken on success.
//
// A request that could be read differently (an unparsable or oversized body, a form
// key containing '.', which op's decoder reads as a path, or one field sent under
// names differing only in case, which op resolves in map order) goes to op as well,
// with its body restored.

// formURLEncoded is the media type of a form body.
const formURLEncoded = "application/x-www-form-urlencoded"

// Header values of the fast path, shared as rs/cors shares its Vary value: a header's
// slice is replaced or appended to (its capacity is its length), never written into.
var (
	hdrOrigin  = []string{"Origin"}
	hdrNoStore = []string{"no-store"}
	hdrNoCache = []string{"no-cache"}
	hdrJSON    = []string{"application/json"}
)

// serveToken is the token endpoint: the client_credentials fast path, else op.
func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	if p.clientCredentials(w, r) {
		return
	}
	p.op.ServeHTTP(w, r)
}

// clientCredentials answers a plain client_credentials request and reports whether it
// did. When it did not, nothing was written and r.Body reads as it would have.
func (p *Provider) clientCredentials(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost || r.URL.RawQuery != "" || r.Header["Origin"] != nil ||
		!isFormBody(r.Header.Get("Content-Type")) {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFormBytes+1))
	var f ccForm
	ok := false
	if err == nil && len(body) <= maxFormBytes {
		f, ok = clientCredentialsForm(body)
	}
	if !ok {
		var rest io.Reader = r.Body
		if err != nil {
			rest = errReader{err}
		}
		r.Body = replayBody{Reader: io.MultiReader(bytes.NewReader(body), rest), Closer: r.Body}
		return false
	}

	h := w.Header()
	if v := h["Vary"]; v != nil { // rs/cors sets it on every actual request
		h["Vary"] = append(v, "Origin")
	} else {
		h["Vary"] = hdrOrigin
	}
	h["Cache-Control"] = hdrNoStore
	h["Pragma"] = hdrNoCache

	id, secret := f.clientID, f.clientSecret
	if user, pass, ok := r.BasicAuth(); ok {
		if id, err = url.QueryUnescape(user); err == nil {
			secret, err = url.QueryUnescape(pass)
		}
		if err != nil {
			op.RequestError(w, r, zoidc.ErrInvalidClient().WithDescription("invalid basic auth header").WithParent(err), nil)
			return true
		}
	}
	ctx := r.Context()
	c, err := p.storage.authenticateClient(ctx, id, secret)
	if err != nil {
		op.RequestError(w, r, clientAuthError(err), nil)
		return true
	}
	if !slices.Contains(c.GrantTypes, string(zoidc.GrantTypeClientCredentials)) {
		op.RequestError(w, r, zoidc.ErrUnauthorizedClient(), nil)
		return true
	}
	var requested []string
	if f.scope != nil {
		requested = strings.Split(*f.scope, " ")
	}
	scopes := clientCredentialsScopes(c, requested)
	tok, exp, err := p.storage.newAccessToken(ctx, grant{clientID: c.ID, scopes: scopes}, c)
	if err != nil {
		op.RequestError(w, r, err, nil)
		return true
	}
	// op measures expires_in against the wall clock (token.go:CreateAccessToken); so
	// does this, so that both paths answer alike.
	writeTokenResponse(w, tok, uint64(exp.Sub(time.Now().UTC()).Seconds()), scopes)
	if p.onToken != nil {
		p.onToken(string(zoidc.GrantTypeClientCredentials))
	}
	return true
}

// writeTokenResponse writes the 200 answer op writes for the grant
// (httphelper.MarshalJSON of a zoidc.AccessTokenResponse with these fields), byte for
// byte, without reflection.
func writeTokenResponse(w http.ResponseWriter, token string, expiresIn uint64, scopes []string) {
	b := make([]byte, 0, len(token)+128)
	b = append(b, `{"access_token":`...)
	b = appendJSONString(b, token)
	b = append(b, `,"token_type":`...)
	b = appendJSONString(b, zoidc.BearerToken)
	if expiresIn != 0 {
		b = append(b, `,"expires_in":`...)
		b = strconv.AppendUint(b, expiresIn, 10)
	}
	if len(scopes) > 0 {
		b = append(b, `,"scope":`...)
		b = appendJSONString(b, strings.Join(scopes, " "))
	}
	b = append(b, "}\n"...)
	w.Header()["Content-Type"] = hdrJSON
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// appendJSONString appends s as a JSON string as encoding/json writes it: verbatim
// when nothing in it needs escaping, else through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// clientAuthError is what op answers when client authentication fails
// (op/client.go:clientAuthError): server_error for a fault, else a bare invalid_client.
func clientAuthError(err error) *zoidc.Error {
	var e *zoidc.Error
	if errors.As(err, &e) && e != nil && e.ErrorType == zoidc.ServerError {
		return zoidc.ErrServerError().WithParent(err)
	}
	return zoidc.ErrInvalidClient().WithParent(err)
}

// isFormBody reports whether a Content-Type is the one whose body ParseForm reads.
func isFormBody(ct string) bool {
	if ct == formURLEncoded {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == formURLEncoded
}

// ccForm is the part of a client_credentials form the grant uses.
type ccForm struct {
	clientID, clientSecret string
	scope                  *string // nil: no scope parameter
}

// clientCredentialsForm parses a form body and reports whether it is a plain
// client_credentials request (see the comment at the top of this file).
func clientCredentialsForm(body []byte) (ccForm, bool) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return ccForm{}, false
	}
	if g := vals["grant_type"]; len(g) == 0 || g[0] != string(zoidc.GrantTypeClientCredentials) {
		return ccForm{}, false
	}
	var f ccForm
	var seenID, seenSecret bool
	for k, v := range vals {
		var seen *bool
		var dst *string
		switch {
		case strings.IndexByte(k, '.') >= 0:
			return ccForm{}, false
		case strings.EqualFold(k, "client_id"):
			seen, dst = &seenID, &f.clientID
		case strings.EqualFold(k, "client_secret"):
			seen, dst = &seenSecret, &f.clientSecret
		case strings.EqualFold(k, "scope"):
			if f.scope != nil {
				return ccForm{}, false
			}
			f.scope = &v[len(v)-1]
			continue
		default:
			continue
		}
		if *seen {
			return ccForm{}, false
		}
		*seen, *dst = true, v[len(v)-1]
	}
	return f, true
}

// replayBody is a request body put back together after it was read.
type replayBody struct {
	io.Reader
	io.Closer
}

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
