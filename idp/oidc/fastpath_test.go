package oidc_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	poidc "github.com/portcullis-id/portcullis/idp/oidc"
	"github.com/portcullis-id/portcullis/store"
)

// ccRequest describes one token request of the tests below.
type ccRequest struct {
	method      string // POST if empty
	target      string // /oauth/token if empty
	contentType string // form if empty; "-" for none
	body        string
	basic       []string // raw user and password of a Basic header, not escaped here
	header      http.Header
}

func (c ccRequest) build(issuer string) *http.Request {
	method, target := c.method, c.target
	if method == "" {
		method = http.MethodPost
	}
	if target == "" {
		target = "/oauth/token"
	}
	r := httptest.NewRequest(method, issuer+target, strings.NewReader(c.body))
	switch c.contentType {
	case "":
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case "-":
	default:
		r.Header.Set("Content-Type", c.contentType)
	}
	if c.basic != nil {
		r.SetBasicAuth(c.basic[0], c.basic[1])
	}
	for k, v := range c.header {
		r.Header[k] = v
	}
	return r
}

// TestClientCredentialsFastPathMatchesOp sends each request through the provider's
// handler (fast path in front) and through op alone, and requires the same status,
// headers, error bodies, token response fields, access-token claims (but jti), OnToken
// calls and audit events.
func TestClientCredentialsFastPathMatchesOp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addClient(store.Client{ID: "svc-opaque", GrantTypes: []string{"client_credentials"},
		Scopes: []string{"api.read"}, AccessTokenFormat: store.AccessTokenOpaque}, 1)
	svc, web := e.secrets["svc"][0], e.secrets["web"][0]
	form := func(kv ...string) string {
		var b strings.Builder
		for i := 0; i < len(kv); i += 2 {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
		}
		return b.String()
	}
	cc := "client_credentials"
	cases := []struct {
		name   string
		req    ccRequest
		fast   bool   // served by the fast path
		status int    // expected status
		errc   string // expected error, or the scope of a success
	}{
		{"basic", ccRequest{body: form("grant_type", cc, "scope", "api.read admin openid offline_access api.read"),
			basic: []string{"svc", svc}}, true, 200, "api.read"},
		{"post", ccRequest{body: form("grant_type", cc, "client_id", "svc", "client_secret", svc, "scope", "api.write api.read")},
			true, 200, "api.write api.read"},
		{"post field names in other case", ccRequest{body: form("grant_type", cc, "Client_ID", "svc", "CLIENT_SECRET", svc, "Scope", "api.read")},
			true, 200, "api.read"},
		{"basic wins over form", ccRequest{body: form("grant_type", cc, "client_id", "web", "client_secret", "wrong"),
			basic: []string{"svc", svc}}, true, 200, ""},
		{"last value wins", ccRequest{body: form("grant_type", cc, "client_id", "svc", "client_secret", "wrong",
			"client_secret", svc, "scope", "api.write", "scope", "api.read")}, true, 200, "api.read"},
		{"second secret", ccRequest{body: form("grant_type", cc), basic: []string{"svc", e.secrets["svc"][1]}}, true, 200, ""},
		{"no scope", ccRequest{body: form("grant_type", cc), basic: []string{"svc", svc}}, true, 200, ""},
		{"empty scope", ccRequest{body: form("grant_type", cc, "scope", ""), basic: []string{"svc", svc}}, true, 200, ""},
		{"scopes with empty items", ccRequest{body: form("grant_type", cc, "scope", " api.read  api.write "), basic: []string{"svc", svc}},
			true, 200, "api.read api.write"},
		{"content type with charset", ccRequest{contentType: "application/x-www-form-urlencoded; charset=utf-8",
			body: form("grant_type", cc), basic: []string{"svc", svc}}, true, 200, ""},
		{"duplicate grant_type, client_credentials first", ccRequest{body: form("grant_type", cc, "grant_type", "authorization_code"),
			basic: []string{"svc", svc}}, true, 200, ""},
		{"opaque", ccRequest{body: form("grant_type", cc, "scope", "api.read"), basic: []string{"svc-opaque", e.secrets["svc-opaque"][0]}},
			true, 200, "api.read"},
		{"escaped basic", ccRequest{body: form("grant_type", cc), basic: []string{url.QueryEscape("svc"), url.QueryEscape(svc)}},
			true, 200, ""},

		{"wrong secret basic", ccRequest{body: form("grant_type", cc), basic: []string{"svc", "wrong"}}, true, 401, "invalid_client"},
		{"wrong secret post", ccRequest{body: form("grant_type", cc, "client_id", "svc", "client_secret", svc+"x")}, true, 401, "invalid_client"},
		{"empty secret", ccRequest{body: form("grant_type", cc, "client_id", "svc")}, true, 401, "invalid_client"},
		{"no credentials", ccRequest{body: form("grant_type", cc)}, true, 401, "invalid_client"},
		{"unknown client", ccRequest{body: form("grant_type", cc), basic: []string{"ghost", "x"}}, true, 401, "invalid_client"},
		{"public client", ccRequest{body: form("grant_type", cc, "client_id", "spa")}, true, 401, "invalid_client"},
		{"bad basic escape", ccRequest{body: form("grant_type", cc), basic: []string{"svc", "%zz"}}, true, 401, "invalid_client"},
		{"missing grant", ccRequest{body: form("grant_type", cc), basic: []string{"web", web}}, true, 400, "unauthorized_client"},

		// Not plain: op answers, the same with or without the fast path in front.
		{"json body", ccRequest{contentType: "application/json", body: `{"grant_type":"client_credentials"}`,
			basic: []string{"svc", svc}}, false, 400, "invalid_request"},
		{"no content type", ccRequest{contentType: "-", body: form("grant_type", cc), basic: []string{"svc", svc}}, false, 400, "invalid_request"},
		{"query string", ccRequest{target: "/oauth/token?scope=api.read", body: form("grant_type", cc), basic: []string{"svc", svc}},
			false, 400, "invalid_request"},
		{"GET", ccRequest{method: http.MethodGet, target: "/oauth/token?grant_type=client_credentials", basic: []string{"svc", svc}},
			false, 405, ""},
		{"origin", ccRequest{body: form("grant_type", cc), basic: []string{"svc", svc},
			header: http.Header{"Origin": {"http://127.0.0.1"}}}, false, 200, ""},
		{"unparsable body", ccRequest{body: "grant_type=client_credentials&scope=%zz", basic: []string{"svc", svc}}, false, 400, "invalid_request"},
		{"oversized body", ccRequest{body: form("grant_type", cc, "pad", strings.Repeat("x", 64<<10)), basic: []string{"svc", svc}},
			false, 400, "invalid_request"},
		{"dotted key", ccRequest{body: form("grant_type", cc, "scope.x", "api.read"), basic: []string{"svc", svc}}, false, 200, ""},
		{"other grant first", ccRequest{body: form("grant_type", "authorization_code", "grant_type", cc, "code", "x"),
			basic: []string{"svc", svc}}, false, 400, "invalid_grant"},
		{"missing grant_type", ccRequest{body: form("client_id", "svc", "client_secret", svc)}, false, 400, "invalid_request"},
	}

	fastH, opH := e.p.Handler(), poidc.OpTokenHandler(e.p)
	type answer struct {
		rec    *httptest.ResponseRecorder
		tokens int
		audits int
	}
	run := func(h http.Handler, c ccRequest) answer {
		tokens := e.tokenCount("client_credentials")
		e.audit.mu.Lock()
		audits := len(e.audit.events)
		e.audit.mu.Unlock()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, c.build(e.issuer))
		e.audit.mu.Lock()
		defer e.audit.mu.Unlock()
		return answer{rec, e.tokenCount("client_credentials") - tokens, len(e.audit.events) - audits}
	}
	for _, c := range cases {
		e.clock.Advance(2 * time.Minute) // past any lockout by the regulator
		rec := httptest.NewRecorder()
		if got := poidc.ServeClientCredentials(e.p, rec, c.req.build(e.issuer)); got != c.fast {
			t.Errorf("%s: served by the fast path: %v, want %v", c.name, got, c.fast)
		}
		e.clock.Advance(2 * time.Minute)
		fast, slow := run(fastH, c.req), run(opH, c.req)
		f, s := fast.rec, slow.rec
		if f.Code != c.status || s.Code != c.status {
			t.Errorf("%s: status %d (op %d), want %d: %s", c.name, f.Code, s.Code, c.status, f.Body)
			continue
		}
		if !maps.EqualFunc(f.Header(), s.Header(), func(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }) {
			t.Errorf("%s: headers\n%v\nop:\n%v", c.name, f.Header(), s.Header())
		}
		if fast.tokens != slow.tokens || fast.audits != slow.audits {
			t.Errorf("%s: OnToken %d, audit events %d; op: %d, %d", c.name, fast.tokens, fast.audits, slow.tokens, slow.audits)
		}
		if c.status != http.StatusOK {
			if !bytes.Equal(f.Body.Bytes(), s.Body.Bytes()) {
				t.Errorf("%s: body %q, op %q", c.name, f.Body, s.Body)
			}
			if c.errc != "" {
				var m map[string]any
				if err := json.Unmarshal(f.Body.Bytes(), &m); err != nil || m["error"] != c.errc {
					t.Errorf("%s: body %s, want error %s", c.name, f.Body, c.errc)
				}
			}
			continue
		}
		compareTokenResponses(t, e, c.name, c.errc, f.Body.Bytes(), s.Body.Bytes())
	}
}

// compareTokenResponses checks two successful client_credentials responses for the
// same request: same fields, the same scope, expires_in within a second, and access
// tokens of the same kind with the same claims but jti.
func compareTokenResponses(t *testing.T, e *env, name, scope string, fast, slow []byte) {
	t.Helper()
	var f, s map[string]any
	if err := json.Unmarshal(fast, &f); err != nil {
		t.Fatalf("%s: %v: %s", name, err, fast)
	}
	if err := json.Unmarshal(slow, &s); err != nil {
		t.Fatalf("%s: op: %v: %s", name, err, slow)
	}
	if !maps.EqualFunc(f, s, func(a, b any) bool { return true }) || f["token_type"] != "Bearer" || s["token_type"] != "Bearer" {
		t.Errorf("%s: fields %v, op %v", name, f, s)
	}
	if got, _ := f["scope"].(string); got != scope || f["scope"] != s["scope"] {
		t.Errorf("%s: scope %q, op %q, want %q", name, f["scope"], s["scope"], scope)
	}
	fe, _ := f["expires_in"].(float64)
	se, _ := s["expires_in"].(float64)
	if fe < se-1 || fe > se+1 || fe <= 0 {
		t.Errorf("%s: expires_in %v, op %v", name, fe, se)
	}
	ft, st := f["access_token"].(string), s["access_token"].(string)
	if ft == st {
		t.Errorf("%s: the same access token twice", name)
	}
	if strings.HasPrefix(st, "pcat_") != strings.HasPrefix(ft, "pcat_") {
		t.Fatalf("%s: token kinds differ: %s, op %s", name, ft, st)
	}
	var fc, sc map[string]any
	if strings.HasPrefix(st, "pcat_") {
		id := "svc-opaque"
		var fa, sa bool
		fa, fc = e.introspect(ft, id)
		sa, sc = e.introspect(st, id)
		if !fa || !sa {
			t.Fatalf("%s: introspection %v, op %v", name, fc, sc)
		}
	} else {
		fh, _, _ := strings.Cut(ft, ".")
		sh, _, _ := strings.Cut(st, ".")
		if fh != sh {
			fj, _ := base64.RawURLEncoding.DecodeString(fh)
			sj, _ := base64.RawURLEncoding.DecodeString(sh)
			t.Errorf("%s: JWT header %s, op %s", name, fj, sj)
		}
		fc, sc = jwtClaims(t, ft), jwtClaims(t, st)
	}
	if fc["jti"] == sc["jti"] || fc["jti"] == nil {
		t.Errorf("%s: jti %v, op %v", name, fc["jti"], sc["jti"])
	}
	delete(fc, "jti")
	delete(sc, "jti")
	fb, _ := json.Marshal(fc)
	sb, _ := json.Marshal(sc)
	if !bytes.Equal(fb, sb) {
		t.Errorf("%s: claims %s, op %s", name, fb, sb)
	}
}

// TestClientCredentialsFastPathForm: which requests the fast path takes, and that
// those it leaves to op reach op with their body intact and nothing written.
func TestClientCredentialsFastPathForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := e.secrets["svc"][0]
	big := "grant_type=client_credentials&pad=" + strings.Repeat("x", 64<<10)
	cases := []struct {
		name string
		req  ccRequest
		take bool
	}{
		{"plain", ccRequest{body: "grant_type=client_credentials"}, true},
		{"post credentials", ccRequest{body: "grant_type=client_credentials&client_id=svc&client_secret=" + url.QueryEscape(svc)}, true},
		{"no credentials", ccRequest{body: "grant_type=client_credentials"}, true},
		{"charset", ccRequest{contentType: "application/x-www-form-urlencoded; charset=UTF-8", body: "grant_type=client_credentials"}, true},
		{"media type in upper case", ccRequest{contentType: "Application/X-WWW-Form-URLEncoded", body: "grant_type=client_credentials"}, true},
		{"duplicate grant_type, ours first", ccRequest{body: "grant_type=client_credentials&grant_type=refresh_token"}, true},
		{"duplicate grant_type, ours second", ccRequest{body: "grant_type=refresh_token&grant_type=client_credentials"}, false},
		{"grant_type in other case", ccRequest{body: "GRANT_TYPE=client_credentials"}, false},
		{"missing grant_type", ccRequest{body: "client_id=svc&client_secret=x"}, false},
		{"empty grant_type", ccRequest{body: "grant_type=&client_id=svc"}, false},
		{"other grant", ccRequest{body: "grant_type=refresh_token&refresh_token=x"}, false},
		{"empty body", ccRequest{body: ""}, false},
		{"json", ccRequest{contentType: "application/json", body: `{"grant_type":"client_credentials"}`}, false},
		{"multipart", ccRequest{contentType: "multipart/form-data; boundary=x", body: "--x--"}, false},
		{"no content type", ccRequest{contentType: "-", body: "grant_type=client_credentials"}, false},
		{"bad content type", ccRequest{contentType: "application/x-www-form-urlencoded; =", body: "grant_type=client_credentials"}, false},
		{"query", ccRequest{target: "/oauth/token?x=1", body: "grant_type=client_credentials"}, false},
		{"origin", ccRequest{body: "grant_type=client_credentials", header: http.Header{"Origin": {"https://a.example"}}}, false},
		{"GET", ccRequest{method: http.MethodGet, body: "grant_type=client_credentials"}, false},
		{"PUT", ccRequest{method: http.MethodPut, body: "grant_type=client_credentials"}, false},
		{"bad escape", ccRequest{body: "grant_type=client_credentials&client_id=%zz"}, false},
		{"semicolon", ccRequest{body: "grant_type=client_credentials;client_id=svc"}, false},
		{"dotted key", ccRequest{body: "grant_type=client_credentials&client_id.x=svc"}, false},
		{"client_id twice in different case", ccRequest{body: "grant_type=client_credentials&client_id=svc&Client_Id=web"}, false},
		{"client_secret twice in different case", ccRequest{body: "grant_type=client_credentials&client_secret=a&CLIENT_SECRET=b"}, false},
		{"scope twice in different case", ccRequest{body: "grant_type=client_credentials&scope=a&SCOPE=b"}, false},
		{"same key repeated", ccRequest{body: "grant_type=client_credentials&scope=a&scope=b&client_id=x&client_id=svc"}, true},
		{"unknown keys", ccRequest{body: "grant_type=client_credentials&audience=x&client_assertion=y&resource=z"}, true},
		{"oversized", ccRequest{body: big}, false},
		{"at the size limit", ccRequest{body: big[:64<<10]}, true},
	}
	for _, c := range cases {
		r := c.req.build(e.issuer)
		rec := httptest.NewRecorder()
		if got := poidc.ServeClientCredentials(e.p, rec, r); got != c.take {
			t.Errorf("%s: taken %v, want %v (%d %s)", c.name, got, c.take, rec.Code, rec.Body)
			continue
		}
		if c.take {
			continue
		}
		if len(rec.Header()) != 0 || rec.Body.Len() != 0 || rec.Code != http.StatusOK {
			t.Errorf("%s: left to op but wrote %d %v %q", c.name, rec.Code, rec.Header(), rec.Body)
		}
		if body, err := io.ReadAll(r.Body); err != nil || string(body) != c.req.body {
			t.Errorf("%s: body left for op: %q (%v), want %q", c.name, body, err, c.req.body)
		}
	}
}
