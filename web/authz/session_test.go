package authz_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/portcullis-id/portcullis/idp/audit"
	idpauthz "github.com/portcullis-id/portcullis/idp/authz"
	"github.com/portcullis-id/portcullis/idp/keys"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/authz"
)

const issuer = "https://id.example.test"

type fakeKeys []keys.Key

func (f fakeKeys) PublicKeys() []keys.Key { return f }

type fakeSessions map[string]store.RoleSession

func (f fakeSessions) GetRoleSession(_ context.Context, id string) (store.RoleSession, error) {
	if rs, ok := f[id]; ok {
		return rs, nil
	}
	return store.RoleSession{}, fmt.Errorf("role session %s: %w", id, store.ErrNotFound)
}

// sessionServer serves the handlers with a PDP that judges role sessions of "deploy"
// (see newServer): PCIALIVE, PCIANARROW (session policy: s3:GetObject on data/* only)
// and PCIAREVOKED. It returns the tokens of the three and one signed by a stranger.
func sessionServer(t *testing.T) (*httptest.Server, *recorder, map[string]string) {
	t.Helper()
	ours, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	narrow := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Sid":"Data","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}]}`)
	sum := sha256.Sum256(narrow)
	sessions := fakeSessions{}
	tokens := map[string]string{}
	for _, rs := range []store.RoleSession{
		{ID: "PCIALIVE"},
		{ID: "PCIANARROW", SessionPolicy: narrow, SessionPolicyDigest: hex.EncodeToString(sum[:])},
		{ID: "PCIAREVOKED", Revoked: true},
	} {
		rs.RoleID, rs.RoleARN, rs.SessionName = "r-1", deployARN, "ci"
		rs.IssuedAt, rs.ExpiresAt = clock.Add(-5*time.Minute), clock.Add(55*time.Minute)
		sessions[rs.ID] = rs
		tokens[rs.ID] = signSession(t, ours, rs)
	}
	tokens["stranger"] = signSession(t, stranger, sessions["PCIALIVE"])

	rec := &recorder{}
	pdp := idpauthz.NewWithSessions(newServerStore(), nil, idpauthz.SessionOptions{
		Keys: fakeKeys{{ID: "k-1", Algorithm: keys.ES256, Public: ours.Public()}}, Issuer: issuer,
		Sessions: sessions, Now: func() time.Time { return clock },
	})
	h := authz.New(authz.Deps{PDP: pdp, Authenticate: authenticate, Audit: rec, Now: func() time.Time { return clock }})
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, rec, tokens
}

func signSession(t *testing.T, key *ecdsa.PrivateKey, rs store.RoleSession) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k-1"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{
		"iss": issuer, "sub": "arn:portcullis:sts::123456789012:assumed-role/deploy/" + rs.SessionName, "aud": "sts",
		"exp": rs.ExpiresAt.Unix(), "iat": rs.IssuedAt.Unix(), "nbf": rs.IssuedAt.Unix(), "jti": rs.ID,
		"role": rs.RoleARN, "role_id": rs.RoleID, "session_name": rs.SessionName,
		"session_policy_digest": rs.SessionPolicyDigest,
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestCheckJudgesARoleSessionAndAuditsEveryDecision(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, session, action, resource string
		decision, reason                string
		missing                         any
		named                           bool // the response and audit name the session and role
	}{
		{"a live session is allowed by its role", "PCIALIVE", "s3:GetObject", "arn:aws:s3:::logs/a", "allow", "allowed by an identity policy", nil, true},
		{"the session policy narrows the role", "PCIANARROW", "s3:GetObject", "arn:aws:s3:::logs/a", "deny", "implicit deny: an identity policy allows the request but no session policy does", "session", true},
		{"a revoked session is denied", "PCIAREVOKED", "s3:GetObject", "arn:aws:s3:::logs/a", "deny", "session revoked or expired", nil, true},
		{"a token signed by another key is denied", "stranger", "s3:GetObject", "arn:aws:s3:::logs/a", "deny", "invalid session token", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, rec, tokens := sessionServer(t)
			body := `{"session_token":` + strconv.Quote(tokens[tc.session]) + `,"action":"` + tc.action + `","resource":"` + tc.resource + `"}`
			r := post(t, srv, "pdp-tok", authz.CheckPath, body)
			if r.status != http.StatusOK {
				t.Fatalf("status = %d, body %v", r.status, r.body)
			}
			b := r.body
			if b["decision"] != tc.decision || b["reason"] != tc.reason || b["missing_layer"] != tc.missing {
				t.Errorf("body = %v", b)
			}
			wantRole, wantSession, wantTarget := "", any(nil), ""
			if tc.named {
				wantRole, wantSession, wantTarget = deployARN, tc.session, "role:"+deployARN
			}
			if b["role"] != wantRole || b["session"] != wantSession {
				t.Errorf("role %v session %v, want %q %v", b["role"], b["session"], wantRole, wantSession)
			}
			if tc.decision == "deny" && len(deciding(t, b["deciding"])) != 0 {
				t.Errorf("deciding = %v, want none", b["deciding"])
			}
			ev := rec.all()
			if len(ev) != 1 {
				t.Fatalf("audit events = %+v, want one", ev)
			}
			e := ev[0]
			if e.Action != authz.ActionCheck || e.Outcome != tc.decision || e.Actor != "token:svc" || e.Target != wantTarget ||
				e.Details["reason"] != tc.reason || e.Details["action"] != tc.action {
				t.Errorf("audit event = %+v", e)
			}
			if tc.named && e.Details["access_key_id"] != tc.session {
				t.Errorf("audit details = %v, want access_key_id %s", e.Details, tc.session)
			}
		})
	}
}

func TestCheckWithASessionTokenRefusesBadInputNamingTheField(t *testing.T) {
	t.Parallel()
	srv, rec, tokens := sessionServer(t)
	tok := strconv.Quote(tokens["PCIALIVE"])
	tests := []struct {
		name, body string
		field      string
	}{
		{"empty session token", `{"session_token":"","action":"s3:GetObject","resource":"*"}`, "session_token"},
		{"role and session token", `{"role":"deploy","session_token":` + tok + `,"action":"s3:GetObject","resource":"*"}`, "session_token"},
		{"session token of the wrong type", `{"session_token":7,"action":"s3:GetObject","resource":"*"}`, "session_token"},
		{"missing action", `{"session_token":` + tok + `,"resource":"*"}`, "action"},
		{"a principal tag posed by the caller", `{"session_token":` + tok + `,"action":"s3:GetObject","resource":"*","context":{"aws:PrincipalTag/team":["blue"]}}`, `context["aws:PrincipalTag/team"]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, srv, "pdp-tok", authz.CheckPath, tc.body)
			if r.status != http.StatusBadRequest || r.body["field"] != tc.field {
				t.Fatalf("status %d field %v (body %v), want 400 field %s", r.status, r.body["field"], r.body, tc.field)
			}
		})
	}
	ev := rec.all()
	if len(ev) != len(tests) || slices.ContainsFunc(ev, func(e audit.Event) bool { return e.Outcome != audit.Failure || e.Reason == "" }) {
		t.Errorf("audit events = %+v, want one failure with a reason per request", ev)
	}
}

func TestCheckWithASessionTokenNeedsAPDPThatJudgesSessions(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	r := post(t, srv, "pdp-tok", authz.CheckPath, `{"session_token":"a.b.c","action":"s3:GetObject","resource":"*"}`)
	if r.status != http.StatusNotImplemented || r.body["field"] != "session_token" {
		t.Fatalf("status %d body %v, want 501 naming session_token", r.status, r.body)
	}
}

func TestCheckWithASessionTokenStillAuthenticatesTheCaller(t *testing.T) {
	t.Parallel()
	srv, _, tokens := sessionServer(t)
	body := `{"session_token":` + strconv.Quote(tokens["PCIALIVE"]) + `,"action":"s3:GetObject","resource":"*"}`
	for token, status := range map[string]int{"": 401, "viewer-tok": 403, "admin-tok": 200} {
		if r := post(t, srv, token, authz.CheckPath, body); r.status != status {
			t.Errorf("caller %q: status %d, want %d", token, r.status, status)
		}
	}
}
