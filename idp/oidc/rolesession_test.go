package oidc_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	poidc "github.com/portcullis-id/portcullis/idp/oidc"
	"github.com/portcullis-id/portcullis/idp/sts"
	"github.com/portcullis-id/portcullis/store"
)

const sessionRoleARN = "arn:portcullis:iam::000000000000:role/deploy"

// sessionFixture stores the role deploy and the client "auditor", which may introspect
// role sessions.
func sessionFixture(e *env) store.Role {
	e.t.Helper()
	role, err := e.st.CreateRole(e.ctx, store.Role{Name: "deploy", ARN: sessionRoleARN, Path: "/",
		TrustPolicy:        json.RawMessage(`{"Version":"2012-10-17","Statement":[]}`),
		MaxSessionDuration: time.Hour})
	if err != nil {
		e.t.Fatal(err)
	}
	e.addClient(store.Client{ID: "auditor", GrantTypes: []string{"client_credentials"},
		Scopes: []string{poidc.ScopeSTSIntrospect}}, 1)
	return role
}

// roleSessionToken signs a session token the way the STS does (sts.SessionClaims, typ
// at+jwt, our current key) and, when store is set, records its session.
func roleSessionToken(e *env, role store.Role, id string, store_ bool) string {
	e.t.Helper()
	now := e.clock.Now()
	claims := sts.SessionClaims{
		Issuer: e.issuer, Subject: "arn:portcullis:sts::000000000000:assumed-role/deploy/job-" + id,
		Audience: sts.SessionTokenAudience, ClientID: sts.SessionTokenClientID, JWTID: id,
		Expiry: now.Add(15 * time.Minute).Unix(), IssuedAt: now.Unix(), NotBefore: now.Unix(),
		Role: role.ARN, RoleID: role.ID, SessionName: "job-" + id, SourceIdentity: "repo:acme/app:ref:refs/heads/main",
		Provider: "https://ci.example",
	}
	k := e.keys.Current()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Algorithm),
		Key: jose.JSONWebKey{Key: k.Private, KeyID: k.ID}}, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		e.t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		e.t.Fatal(err)
	}
	if store_ {
		if err := e.st.CreateRoleSession(e.ctx, store.RoleSession{ID: id, RoleID: role.ID, RoleARN: role.ARN,
			SessionName: claims.SessionName, Subject: claims.SourceIdentity, Issuer: claims.Provider,
			SourceIdentity: claims.SourceIdentity, SecretSealed: []byte("sealed"),
			IssuedAt: now, ExpiresAt: now.Add(15 * time.Minute)}); err != nil {
			e.t.Fatal(err)
		}
	}
	return tok
}

func TestRoleSessionIntrospectionFollowsTheStoredSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	role := sessionFixture(e)
	tok := roleSessionToken(e, role, "PCIALIVE0000000001", true)

	active, m := e.introspect(tok, "auditor")
	if !active {
		t.Fatalf("live role session inactive: %v", m)
	}
	now := e.clock.Now()
	aud, _ := m["aud"].([]any)
	for k, want := range map[string]any{
		"sub": "arn:portcullis:sts::000000000000:assumed-role/deploy/job-PCIALIVE0000000001", "client_id": "sts",
		"jti": "PCIALIVE0000000001", "token_type": "Bearer", "iss": e.issuer, "role": sessionRoleARN,
		"session_name": "job-PCIALIVE0000000001", "source_identity": "repo:acme/app:ref:refs/heads/main",
		"exp": float64(now.Add(15 * time.Minute).Unix()), "iat": float64(now.Unix()),
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	if len(aud) != 1 || aud[0] != "sts" {
		t.Errorf("aud = %v, want [sts]", m["aud"])
	}
	if _, ok := m["username"]; ok {
		t.Errorf("a role session has no username: %v", m)
	}

	// A session token is no user's or client's token: no userinfo, and /revoke leaves it.
	if status, _ := e.userinfo(tok); status == http.StatusOK {
		t.Error("userinfo answered for a role-session token")
	}
	for _, caller := range []string{"auditor", "svc"} {
		resp, _ := e.post("/revoke", url.Values{"token": {tok}}, caller, e.secrets[caller][0])
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke as %s: %d", caller, resp.StatusCode)
		}
	}
	if active, _ := e.introspect(tok, "auditor"); !active {
		t.Fatal("RFC 7009 revocation by a client ended a role session")
	}

	if err := e.st.RevokeRoleSession(e.ctx, "PCIALIVE0000000001"); err != nil {
		t.Fatal(err)
	}
	if active, m := e.introspect(tok, "auditor"); active || len(m) != 1 {
		t.Fatalf("revoked session: %v, want just {\"active\":false}", m)
	}
}

func TestRoleSessionIntrospectionNeedsTheSTSIntrospectScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	role := sessionFixture(e)
	tok := roleSessionToken(e, role, "PCIALIVE0000000002", true)
	// svc (client_credentials, other scopes) and web (the code flow) are confidential
	// clients without the scope; a secret of another client does not help either.
	for _, caller := range []string{"svc", "web", "other"} {
		if active, m := e.introspect(tok, caller); active || len(m) != 1 {
			t.Errorf("%s learned about a role session: %v", caller, m)
		}
	}
	resp, _ := e.post("/oauth/introspect", url.Values{"token": {tok}}, "auditor", e.secrets["svc"][0])
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("introspection with a wrong secret: %d, want 401", resp.StatusCode)
	}
	if active, _ := e.introspect(tok, "auditor"); !active {
		t.Fatal("the scoped client cannot introspect")
	}
	// The scope lets a client see role sessions, not other clients' tokens.
	resp, m := e.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"api.read"}}, "svc", e.secrets["svc"][0])
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("client_credentials: %d %v", resp.StatusCode, m)
	}
	if active, _ := e.introspect(m["access_token"].(string), "auditor"); active {
		t.Error("sts:introspect revealed a client_credentials token of another client")
	}
}

func TestRoleSessionIntrospectionInactiveCases(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	role := sessionFixture(e)
	other, err := e.st.CreateRole(e.ctx, store.Role{Name: "gone", ARN: "arn:portcullis:iam::000000000000:role/gone", Path: "/",
		TrustPolicy: json.RawMessage(`{"Version":"2012-10-17","Statement":[]}`), MaxSessionDuration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}

	unknown := roleSessionToken(e, role, "PCIAUNKNOWN0000001", false)
	listed := roleSessionToken(e, role, "PCIALISTED00000001", true)
	if err := e.st.Revoke(e.ctx, store.Revocation{Key: "PCIALISTED00000001", Until: e.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	orphan := roleSessionToken(e, other, "PCIAORPHAN00000001", true)
	if err := e.st.DeleteRole(e.ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	// The record ends before the token's exp: the record wins.
	short := roleSessionToken(e, role, "PCIASHORT000000001", false)
	now := e.clock.Now()
	if err := e.st.CreateRoleSession(e.ctx, store.RoleSession{ID: "PCIASHORT000000001", RoleID: role.ID, RoleARN: role.ARN,
		SessionName: "job-PCIASHORT000000001", SecretSealed: []byte("sealed"), IssuedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	live := roleSessionToken(e, role, "PCIALIVE0000000003", true)

	for name, tok := range map[string]string{"never stored": unknown, "jti on the revocation list": listed, "role deleted": orphan} {
		if active, m := e.introspect(tok, "auditor"); active || len(m) != 1 {
			t.Errorf("%s: %v, want just {\"active\":false}", name, m)
		}
	}
	if active, _ := e.introspect(short, "auditor"); !active {
		t.Fatal("short session inactive before its record expired")
	}
	e.clock.Advance(2 * time.Minute)
	if active, _ := e.introspect(short, "auditor"); active {
		t.Error("session active after its record expired")
	}
	if active, _ := e.introspect(live, "auditor"); !active {
		t.Error("live session inactive")
	}
	e.clock.Advance(15 * time.Minute)
	if active, _ := e.introspect(live, "auditor"); active {
		t.Error("session active after its token expired")
	}
}
