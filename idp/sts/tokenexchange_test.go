package sts_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/sts"
	"github.com/portcullis-id/portcullis/store"
)

// tokenEndpoint stands in for the OAuth token endpoint: like the one that wires
// TokenExchange, it parses the form first and hands on the token-exchange grant.
func tokenEndpoint(t *testing.T, h *harness) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			_ = r.ParseForm()
			if r.PostForm.Get("grant_type") != sts.GrantTypeTokenExchange {
				http.Error(w, "other grant", http.StatusTeapot)
				return
			}
		}
		h.svc.TokenExchange(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// exchangeForm is a token exchange request for token, with further pairs.
func exchangeForm(token string, kv ...string) url.Values {
	f := url.Values{
		"grant_type":         {sts.GrantTypeTokenExchange},
		"subject_token":      {token},
		"subject_token_type": {sts.TokenTypeJWT},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Add(kv[i], kv[i+1])
	}
	return f
}

func postForm(t *testing.T, srv *httptest.Server, form url.Values) (*http.Response, []byte) {
	t.Helper()
	resp, err := srv.Client().PostForm(srv.URL+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// derivedSessionName is the session name of a subject that is not one as it stands.
func derivedSessionName(cleaned, subject string) string {
	sum := sha256.Sum256([]byte(subject))
	return cleaned + "-" + hex.EncodeToString(sum[:])[:16]
}

func TestTokenExchangeIssuesRoleCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		form url.Values
	}{
		{"role ARN as resource", exchangeForm("tok-main", "resource", roleARN)},
		{"role ARN as audience", exchangeForm("tok-main", "audience", roleARN)},
		{"role name as scope", exchangeForm("tok-main", "scope", "role:deploy")},
		{"role name in another case", exchangeForm("tok-main", "scope", "role:DEPLOY")},
		{"resource, audience and scope naming the same role", exchangeForm("tok-main",
			"resource", roleARN, "audience", roleARN, "scope", "role:deploy")},
		{"ID token asking for an access token", func() url.Values {
			f := exchangeForm("tok-main", "resource", roleARN, "requested_token_type", sts.TokenTypeAccessToken)
			f.Set("subject_token_type", sts.TokenTypeIDToken)
			return f
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			ctx := t.Context()
			resp, body := postForm(t, tokenEndpoint(t, h), tc.form)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			var fields map[string]any
			if err := json.Unmarshal(body, &fields); err != nil {
				t.Fatal(err)
			}
			wantKeys := []string{"access_key_id", "access_token", "expiration", "expires_in", "issued_token_type", "secret_access_key", "token_type"}
			var keys []string
			for k := range fields {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, wantKeys) {
				t.Errorf("response fields = %v, want %v", keys, wantKeys)
			}
			var out sts.TokenExchangeResponse
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatal(err)
			}
			expires := h.now.Add(time.Hour)
			if out.IssuedTokenType != "urn:ietf:params:oauth:token-type:access_token" || out.TokenType != "Bearer" ||
				out.ExpiresIn != 3600 || out.Expiration != expires.Format(time.RFC3339) {
				t.Errorf("response = %s", sts.TokenExchangeResponse{
					IssuedTokenType: out.IssuedTokenType, TokenType: out.TokenType, ExpiresIn: out.ExpiresIn, Expiration: out.Expiration,
				}.LogValue())
			}
			if !accessKeyPattern.MatchString(out.AccessKeyID) || len(out.SecretAccessKey) != 40 {
				t.Errorf("key pair %q / %d characters", out.AccessKeyID, len(out.SecretAccessKey))
			}

			// The access token is the session token: it verifies with the published key
			// and names the role and the session derived from the subject.
			session := derivedSessionName("repo-acme-app-ref-refs-heads-main", mainSub)
			assumed := "arn:portcullis:sts::" + account + ":assumed-role/deploy/" + session
			claims := verifySessionToken(t, h.km, out.AccessToken)
			if claims.Role != roleARN || claims.RoleID != "PROADEPLOY" || claims.Subject != assumed ||
				claims.SessionName != session || claims.JWTID != out.AccessKeyID || claims.Issuer != issuer ||
				claims.Provider != gha || claims.SourceIdentity != mainSub || claims.Expiry != expires.Unix() {
				t.Errorf("session token claims = %+v", claims)
			}

			rs, err := h.st.GetRoleSession(ctx, out.AccessKeyID)
			if err != nil {
				t.Fatal(err)
			}
			if rs.RoleARN != roleARN || rs.SessionName != session || rs.Subject != mainSub || rs.Issuer != gha ||
				!rs.ExpiresAt.Equal(expires) || rs.Revoked {
				t.Errorf("stored session = %+v", rs)
			}
			if opened, err := h.sealer.Open(rs.SecretSealed, []byte("role_sessions/"+rs.ID)); err != nil || string(opened) != out.SecretAccessKey {
				t.Errorf("stored secret opens to %q, %v", opened, err)
			}

			ev := h.audit.all()
			if len(ev) != 1 || ev[0].Action != "sts.token_exchange" || ev[0].Outcome != audit.Success || ev[0].Actor != mainSub ||
				ev[0].Target != roleARN || ev[0].Details["access_key_id"] != rs.ID || ev[0].RequestID == "" {
				t.Errorf("audit = %+v, want one token-exchange success", ev)
			}

			// The extension fields sign SigV4 requests with the token as session token.
			who, err := h.signedClient(aws.Credentials{AccessKeyID: out.AccessKeyID, SecretAccessKey: out.SecretAccessKey,
				SessionToken: out.AccessToken}).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(who.Arn) != assumed {
				t.Errorf("caller = %q, want %q", aws.ToString(who.Arn), assumed)
			}
		})
	}
}

func TestTokenExchangeRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	srv := tokenEndpoint(t, h)
	other := "arn:portcullis:iam::" + account + ":role/ci/other"
	without := func(f url.Values, name string) url.Values { f.Del(name); return f }
	with := func(f url.Values, name, value string) url.Values { f.Set(name, value); return f }
	tests := []struct {
		name    string
		form    url.Values
		status  int
		code    string
		desc    string // a part of error_description
		verifys bool
	}{
		{"missing subject_token", without(exchangeForm("tok-main", "resource", roleARN), "subject_token"),
			400, "invalid_request", "subject_token is required", false},
		{"missing subject_token_type", without(exchangeForm("tok-main", "resource", roleARN), "subject_token_type"),
			400, "invalid_request", "subject_token_type is required", false},
		{"SAML 2.0 assertion", with(exchangeForm("tok-main", "resource", roleARN), "subject_token_type", "urn:ietf:params:oauth:token-type:saml2"),
			400, "invalid_request", "not supported yet", false},
		{"SAML 1.1 assertion", with(exchangeForm("tok-main", "resource", roleARN), "subject_token_type", "urn:ietf:params:oauth:token-type:saml1"),
			400, "invalid_request", "not supported yet", false},
		{"access token as subject", with(exchangeForm("tok-main", "resource", roleARN), "subject_token_type", sts.TokenTypeAccessToken),
			400, "invalid_request", "subject_token_type", false},
		{"subject_token twice", exchangeForm("tok-main", "resource", roleARN, "subject_token", "tok-main"),
			400, "invalid_request", "subject_token was given 2 times", false},
		{"oversized subject token", with(exchangeForm("tok-main", "resource", roleARN), "subject_token", strings.Repeat("a", 20001)),
			400, "invalid_request", "subject_token", false},
		{"actor token", exchangeForm("tok-main", "resource", roleARN, "actor_token", "tok-main", "actor_token_type", sts.TokenTypeJWT),
			400, "invalid_request", "delegation is not supported", false},
		{"actor token alone", exchangeForm("tok-main", "resource", roleARN, "actor_token", "tok-main"),
			400, "invalid_request", "Parameter actor_token is not accepted", false},
		{"actor token type alone", exchangeForm("tok-main", "resource", roleARN, "actor_token_type", sts.TokenTypeJWT),
			400, "invalid_request", "actor_token_type", false},
		{"refresh token requested", exchangeForm("tok-main", "resource", roleARN, "requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"),
			400, "invalid_request", "requested_token_type", false},
		{"no role named", exchangeForm("tok-main"), 400, "invalid_target", "Name the role", false},
		{"resource and audience naming two roles", exchangeForm("tok-main", "resource", roleARN, "audience", other),
			400, "invalid_target", "more than one role", false},
		{"two resources", exchangeForm("tok-main", "resource", roleARN, "resource", other),
			400, "invalid_target", "more than one role", false},
		{"two roles in scope", exchangeForm("tok-main", "scope", "role:deploy role:other"),
			400, "invalid_target", "more than one role", false},
		{"resource and scope naming two roles", exchangeForm("tok-main", "resource", roleARN, "scope", "role:other"),
			400, "invalid_target", "more than one role", false},
		{"audience that is not a role", exchangeForm("tok-main", "audience", "urn:example:api"),
			400, "invalid_target", "audience", false},
		{"role of another account", exchangeForm("tok-main", "resource", "arn:portcullis:iam::999999999999:role/ci/deploy"),
			400, "invalid_target", "resource", false},
		{"malformed role name", exchangeForm("tok-main", "scope", "role:de/ploy"),
			400, "invalid_target", "scope", false},
		{"other scope", exchangeForm("tok-main", "scope", "openid role:deploy"),
			400, "invalid_scope", "openid", false},
		{"trust policy denies the subject", exchangeForm("tok-branch", "resource", roleARN),
			400, "invalid_grant", "", true},
		{"invalid token", exchangeForm("tok-forged", "resource", roleARN),
			400, "invalid_grant", "", true},
		{"expired token", exchangeForm("tok-expired", "scope", "role:deploy"),
			400, "invalid_grant", "", true},
		{"token tags need sts:TagSession", exchangeForm("tok-tagged", "resource", roleARN),
			400, "invalid_grant", "", true},
		{"unknown role ARN", exchangeForm("tok-main", "resource", other),
			400, "invalid_grant", "", true},
		{"unknown role name", exchangeForm("tok-main", "scope", "role:other"),
			400, "invalid_grant", "", true},
		{"issuer unreachable", exchangeForm("tok-offline", "resource", roleARN),
			503, "server_error", "try again", true},
	}
	var grantDesc string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Not parallel: the verifier's call count is compared per case.
			before := h.verifier.calls.Load()
			resp, body := postForm(t, srv, tc.form)
			var e oauthError
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if resp.StatusCode != tc.status || e.Error != tc.code || !strings.Contains(e.Description, tc.desc) {
				t.Errorf("answer %d %+v, want %d %s mentioning %q", resp.StatusCode, e, tc.status, tc.code, tc.desc)
			}
			if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Request-Id") == "" {
				t.Errorf("headers = %v, want no-store and a request id", resp.Header)
			}
			// Every refusal of the token or of the trust decision reads the same.
			if e.Error == "invalid_grant" {
				if grantDesc == "" {
					grantDesc = e.Description
				} else if e.Description != grantDesc {
					t.Errorf("invalid_grant description %q differs from %q", e.Description, grantDesc)
				}
			}
			if verified := h.verifier.calls.Load() > before; verified != tc.verifys {
				t.Errorf("token verified = %v, want %v", verified, tc.verifys)
			}
		})
	}

	sessions, err := h.st.ListRoleSessions(t.Context(), "PROADEPLOY")
	if err != nil || len(sessions) != 0 {
		t.Errorf("refused requests stored %d sessions (%v)", len(sessions), err)
	}
	ev := h.audit.all()
	if len(ev) != len(tests) {
		t.Errorf("audit: %d events, want %d", len(ev), len(tests))
	}
	var denied int
	for _, e := range ev {
		if e.Action != "sts.token_exchange" || e.Outcome == audit.Success || e.RequestID == "" {
			t.Errorf("audit event = %+v", e)
		}
		if e.Outcome == audit.Denied {
			denied++
			if e.Actor == branchSub && !strings.Contains(e.Reason, "denies sts:AssumeRoleWithWebIdentity") {
				t.Errorf("trust denial audited without its reason: %q", e.Reason)
			}
		}
	}
	// Denied: the branch, the tagged token and the two unknown roles.
	if denied != 4 {
		t.Errorf("audit: %d denials, want 4", denied)
	}
}

func TestTokenExchangeRefusesOtherMethodsAndBodies(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	srv := tokenEndpoint(t, h)

	resp, err := srv.Client().Get(srv.URL + "/oauth/token?" + exchangeForm("tok-main", "resource", roleARN).Encode())
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Errorf("GET: %d, Allow %q; want 405 and POST", resp.StatusCode, resp.Header.Get("Allow"))
	}

	// A JSON body is not the form RFC 8693 §2.1 requires, and the query string is not
	// read at all.
	body, _ := json.Marshal(map[string]string{"grant_type": sts.GrantTypeTokenExchange, "subject_token": "tok-main"})
	rec := httptest.NewRecorder()
	h.svc.TokenExchange(rec, httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(string(body))))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"invalid_request"`) {
		t.Errorf("JSON body: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/oauth/token?"+exchangeForm("tok-main", "resource", roleARN).Encode(), nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.svc.TokenExchange(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "grant_type is required") {
		t.Errorf("parameters in the query: %d %s", rec.Code, rec.Body)
	}
	if n := h.verifier.calls.Load(); n != 0 {
		t.Errorf("verifier called %d times", n)
	}
}

// TestTokenExchangeDerivesSessionNameFromSubject: the session name is the subject when
// it is a valid one, and otherwise a cleaned prefix with a digest of the whole subject,
// which trust policies see as sts:RoleSessionName.
func TestTokenExchangeDerivesSessionNameFromSubject(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// The builder role admits any subject of the provider whose session name starts
	// with "a".
	if _, err := h.st.CreateRole(t.Context(), store.Role{
		ID: "PROABUILDER", Name: "builder", Path: "/", ARN: "arn:portcullis:iam::" + account + ":role/builder",
		TrustPolicy: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		 "Principal":{"Federated":"arn:portcullis:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
		 "Action":"sts:AssumeRoleWithWebIdentity",
		 "Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},
		              "StringLike":{"sts:RoleSessionName":"a*"}}}]}`),
	}); err != nil {
		t.Fatal(err)
	}
	long := "a" + strings.Repeat("b", 70)
	tests := []struct {
		subject, want string
	}{
		{"alice", "alice"},
		{"alice@example.com", "alice@example.com"},
		{"a:b/c", derivedSessionName("a-b-c", "a:b/c")},
		{"a/b:c", derivedSessionName("a-b-c", "a/b:c")},
		{"aé", derivedSessionName("a-", "aé")},
		{"a", derivedSessionName("a", "a")},
		{long, derivedSessionName(long[:47], long)},
	}
	for i, tc := range tests {
		token := "tok-subject-" + string(rune('0'+i))
		h.verifier.tokens[token] = githubIdentity(tc.subject)
	}
	names := map[string]bool{}
	for i, tc := range tests {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/oauth/token",
			strings.NewReader(exchangeForm("tok-subject-"+string(rune('0'+i)), "scope", "role:builder").Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		h.svc.TokenExchange(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("subject %q: %d %s", tc.subject, rec.Code, rec.Body)
			continue
		}
		var out sts.TokenExchangeResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		rs, err := h.st.GetRoleSession(t.Context(), out.AccessKeyID)
		if err != nil {
			t.Fatal(err)
		}
		if rs.SessionName != tc.want || len(rs.SessionName) > 64 || rs.Subject != tc.subject {
			t.Errorf("subject %q: session name %q, want %q", tc.subject, rs.SessionName, tc.want)
		}
		if names[rs.SessionName] {
			t.Errorf("session name %q derived twice", rs.SessionName)
		}
		names[rs.SessionName] = true
	}

	// The trust policy sees the derived name: a subject whose name does not start
	// with "a" is refused.
	h.verifier.tokens["tok-bob"] = githubIdentity("bob")
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(exchangeForm("tok-bob", "scope", "role:builder").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.svc.TokenExchange(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"invalid_grant"`) {
		t.Errorf("bob: %d %s, want invalid_grant", rec.Code, rec.Body)
	}
}

// FuzzTokenExchangeRequest: any form body is answered with credentials or an RFC 6749
// error, never a failure of ours, and a request refused for its parameters never has
// its token verified.
func FuzzTokenExchangeRequest(f *testing.F) {
	f.Add(exchangeForm("tok-main", "resource", roleARN).Encode())
	f.Add(exchangeForm("tok-main", "scope", "role:deploy role:x").Encode())
	f.Add(exchangeForm("tok-branch", "audience", roleARN, "actor_token", "x").Encode())
	f.Add("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=%00&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Asaml2")
	f.Add("scope=role:&resource=arn:portcullis:iam::123456789012:role/&grant_type=")
	h := newHarness(f)
	codes := map[string]bool{"invalid_request": true, "invalid_target": true, "invalid_scope": true, "unsupported_grant_type": true}
	f.Fuzz(func(t *testing.T, raw string) {
		before := h.verifier.calls.Load()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(raw))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		h.svc.TokenExchange(rec, req)
		if rec.Code == http.StatusOK {
			return
		}
		var e oauthError
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
			t.Fatalf("%d %q: not an RFC 6749 error (%v)", rec.Code, rec.Body, err)
		}
		// 503 is the one failure a form can bring about: the unreachable issuer of
		// tok-offline.
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%d %+v", rec.Code, e)
		}
		if codes[e.Error] && h.verifier.calls.Load() != before {
			t.Errorf("%s, yet the token was verified", e.Error)
		}
	})
}
