package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

const (
	subjMain = "repo:acme/app:ref:refs/heads/main"
	subjDev  = "repo:acme/app:ref:refs/heads/dev"
)

// putRoleSession stores a session of role issued age ago for an hour.
func (e *env) putRoleSession(id string, role Role, subject string, age time.Duration) store.RoleSession {
	e.t.Helper()
	s := store.RoleSession{
		ID: id, RoleID: role.ID, RoleARN: role.ARN, SessionName: "job-" + id, Subject: subject,
		Issuer: "https://ci.example", SourceIdentity: subject, SecretSealed: []byte("sealed-secret-bytes"),
		Tags: map[string]string{"team": "web"}, IssuedAt: testNow.Add(-age), ExpiresAt: testNow.Add(time.Hour - age),
	}
	if err := e.st.CreateRoleSession(context.Background(), s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) sessionIDs(query url.Values) []string {
	e.t.Helper()
	r := e.do("GET", "/role-sessions?"+query.Encode(), e.admin, nil)
	expect(e.t, r, http.StatusOK)
	var l list[RoleSession]
	r.decode(e.t, &l)
	ids := make([]string, 0, len(l.Items))
	for _, s := range l.Items {
		ids = append(ids, s.ID)
	}
	return ids
}

func (e *env) revoked(id string) (record, list bool) {
	e.t.Helper()
	s, err := e.st.GetRoleSession(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	onList, err := e.st.IsRevoked(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return s.Revoked, onList
}

func TestRoleSessionsListFiltersWithoutSecrets(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t)
	deploy := e.createRole(map[string]any{"name": "deploy"})
	viewer := e.createRole(map[string]any{"name": "viewer"})
	e.putRoleSession("PCIAMAIN1", deploy, subjMain, time.Minute)
	e.putRoleSession("PCIADEV1", deploy, subjDev, 2*time.Minute)
	e.putRoleSession("PCIAVIEW1", viewer, subjMain, 3*time.Minute)
	e.putRoleSession("PCIAOLD1", deploy, subjMain, 2*time.Hour) // expired, not yet swept
	e.putRoleSession("PCIAGONE1", deploy, subjMain, 4*time.Minute)
	if err := e.st.RevokeRoleSession(context.Background(), "PCIAGONE1"); err != nil {
		t.Fatal(err)
	}

	r := e.do("GET", "/role-sessions", e.admin, nil)
	expect(t, r, http.StatusOK)
	for _, secret := range []string{"secret", "c2VhbGVk", "sealed"} {
		if strings.Contains(string(r.body), secret) {
			t.Fatalf("list leaks %q: %s", secret, r.body)
		}
	}
	var l list[RoleSession]
	r.decode(t, &l)
	if len(l.Items) != 5 {
		t.Fatalf("list all = %d sessions, want 5", len(l.Items))
	}
	first := l.Items[0]
	if first.ID != "PCIAMAIN1" || first.AccessKeyID != "PCIAMAIN1" || first.RoleARN != deploy.ARN || first.SessionName != "job-PCIAMAIN1" ||
		first.Subject != subjMain || first.Issuer != "https://ci.example" || first.SourceIdentity != subjMain ||
		!first.IssuedAt.Equal(testNow.Add(-time.Minute)) || !first.ExpiresAt.Equal(testNow.Add(59*time.Minute)) ||
		first.Revoked || !first.Active || first.Tags["team"] != "web" {
		t.Errorf("first session = %+v", first)
	}

	for _, tc := range []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"role by name, active", url.Values{"role": {"deploy"}, "active": {"true"}}, []string{"PCIAMAIN1", "PCIADEV1"}},
		{"role by ARN and subject", url.Values{"role": {deploy.ARN}, "subject": {subjMain}}, []string{"PCIAMAIN1", "PCIAGONE1", "PCIAOLD1"}},
		{"subject, active", url.Values{"subject": {subjMain}, "active": {"true"}}, []string{"PCIAMAIN1", "PCIAVIEW1"}},
		{"active=false lists all", url.Values{"active": {"false"}, "role": {"viewer"}}, []string{"PCIAVIEW1"}},
		{"unknown subject", url.Values{"subject": {"repo:other"}}, []string{}},
	} {
		if got := e.sessionIDs(tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	expectField(t, e.do("GET", "/role-sessions?active=maybe", e.admin, nil), http.StatusBadRequest, "active")
	expect(t, e.do("GET", "/role-sessions?role=nope", e.admin, nil), http.StatusNotFound)
	expect(t, e.do("GET", "/role-sessions", "", nil), http.StatusUnauthorized)

	var one RoleSession
	r = e.do("GET", "/role-sessions/PCIAOLD1", e.admin, nil)
	expect(t, r, http.StatusOK)
	r.decode(t, &one)
	if one.ID != "PCIAOLD1" || one.Active || one.Revoked {
		t.Errorf("expired session = %+v, want inactive and not revoked", one)
	}
	expect(t, e.do("GET", "/role-sessions/PCIANOPE", e.admin, nil), http.StatusNotFound)
}

func TestRoleSessionRevokeMarksRecordAndRevocationList(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t)
	deploy := e.createRole(map[string]any{"name": "deploy"})
	e.putRoleSession("PCIAMAIN1", deploy, subjMain, time.Minute)
	e.putRoleSession("PCIAMAIN2", deploy, subjMain, 2*time.Minute)

	r := e.do("DELETE", "/role-sessions/PCIAMAIN1", e.admin, nil)
	expect(t, r, http.StatusOK)
	var got RoleSession
	r.decode(t, &got)
	if got.ID != "PCIAMAIN1" || !got.Revoked || got.Active {
		t.Fatalf("revoked session = %+v", got)
	}
	if record, onList := e.revoked("PCIAMAIN1"); !record || !onList {
		t.Fatalf("after revoke: record revoked %v, jti on the revocation list %v; want both", record, onList)
	}
	if record, onList := e.revoked("PCIAMAIN2"); record || onList {
		t.Fatal("revoking one session touched another")
	}
	ev := e.rec.find("admin.role_session.revoke", "success")
	if ev == nil || ev.Target != "role_session:PCIAMAIN1" || ev.Details["role"] != deploy.ARN || ev.Details["subject"] != subjMain {
		t.Fatalf("audit event = %+v", ev)
	}
	// Again is harmless; an unknown id is 404 and audited as a failure.
	expect(t, e.do("DELETE", "/role-sessions/PCIAMAIN1", e.admin, nil), http.StatusOK)
	expect(t, e.do("DELETE", "/role-sessions/PCIANOPE", e.admin, nil), http.StatusNotFound)
	if e.rec.find("admin.role_session.revoke", "failure") == nil {
		t.Error("revoking an unknown session was not audited")
	}
	expect(t, e.do("DELETE", "/role-sessions/PCIAMAIN2", "", nil), http.StatusUnauthorized)
	if record, _ := e.revoked("PCIAMAIN2"); record {
		t.Fatal("revoked without a token")
	}
}

func TestRoleSessionsBulkRevokeByRoleAndSubject(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t)
	deploy := e.createRole(map[string]any{"name": "deploy"})
	viewer := e.createRole(map[string]any{"name": "viewer"})
	e.putRoleSession("PCIAMAIN1", deploy, subjMain, time.Minute)
	e.putRoleSession("PCIADEV1", deploy, subjDev, 2*time.Minute)
	e.putRoleSession("PCIAVIEW1", viewer, subjMain, 3*time.Minute)
	e.putRoleSession("PCIAVIEW2", viewer, subjDev, 3*time.Minute)
	e.putRoleSession("PCIAOLD1", deploy, subjMain, 2*time.Hour) // expired: left alone

	expectField(t, e.do("POST", "/role-sessions/revoke", e.admin, map[string]any{}), http.StatusBadRequest, "role")
	expectField(t, e.do("POST", "/role-sessions/revoke", e.admin, map[string]any{"roles": "deploy"}), http.StatusBadRequest, "roles")
	expect(t, e.do("POST", "/role-sessions/revoke", e.admin, map[string]any{"role": "nope"}), http.StatusNotFound)

	bulk := func(body map[string]any) RevokeResult {
		t.Helper()
		r := e.do("POST", "/role-sessions/revoke", e.admin, body)
		expect(t, r, http.StatusOK)
		var res RevokeResult
		r.decode(t, &res)
		return res
	}
	if res := bulk(map[string]any{"role": deploy.ARN}); res.Revoked != 2 || !slices.Equal(res.IDs, []string{"PCIAMAIN1", "PCIADEV1"}) {
		t.Fatalf("revoke role deploy = %+v", res)
	}
	ev := e.rec.find("admin.role_session.revoke_all", "success")
	if ev == nil || ev.Details["count"] != "2" || ev.Details["role"] != deploy.ARN || ev.Target != "role:"+deploy.ARN {
		t.Fatalf("audit event = %+v", ev)
	}
	if res := bulk(map[string]any{"role": "viewer", "subject": subjDev}); res.Revoked != 1 || !slices.Equal(res.IDs, []string{"PCIAVIEW2"}) {
		t.Fatalf("revoke viewer of dev = %+v", res)
	}
	if res := bulk(map[string]any{"subject": subjMain}); res.Revoked != 1 || !slices.Equal(res.IDs, []string{"PCIAVIEW1"}) {
		t.Fatalf("revoke subject main = %+v (the deploy session was revoked already)", res)
	}
	if res := bulk(map[string]any{"subject": subjMain}); res.Revoked != 0 || res.IDs == nil {
		t.Fatalf("second revoke = %+v, want 0 and an empty list", res)
	}
	for _, id := range []string{"PCIAMAIN1", "PCIADEV1", "PCIAVIEW1", "PCIAVIEW2"} {
		if record, onList := e.revoked(id); !record || !onList {
			t.Errorf("%s: record revoked %v, on the revocation list %v; want both", id, record, onList)
		}
	}
	if record, onList := e.revoked("PCIAOLD1"); record || onList {
		t.Error("an expired session was revoked")
	}
}

// failingRevocations is a store whose transactions cannot write revocations.
type failingRevocations struct{ store.Store }

type failingRevocationsTx struct{ store.Tx }

var errNoRevocations = errors.New("revocation list unavailable")

func (failingRevocationsTx) Revoke(context.Context, store.Revocation) error { return errNoRevocations }

func (s failingRevocations) Atomic(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Atomic(ctx, func(tx store.Tx) error { return fn(failingRevocationsTx{tx}) })
}

func TestRoleSessionRevokeIsAllOrNothing(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t)
	deploy := e.createRole(map[string]any{"name": "deploy"})
	e.putRoleSession("PCIAMAIN1", deploy, subjMain, time.Minute)
	e.putRoleSession("PCIAMAIN2", deploy, subjMain, time.Minute)
	broken := failingRevocations{e.st}

	if _, err := RevokeRoleSession(t.Context(), broken, "PCIAMAIN1"); !errors.Is(err, errNoRevocations) {
		t.Fatalf("revoke = %v, want the revocation failure", err)
	}
	if _, err := RevokeRoleSessions(t.Context(), broken, store.RoleSessionFilter{RoleID: deploy.ID}, testNow); !errors.Is(err, errNoRevocations) {
		t.Fatalf("bulk revoke = %v, want the revocation failure", err)
	}
	for _, id := range []string{"PCIAMAIN1", "PCIAMAIN2"} {
		if record, _ := e.revoked(id); record {
			t.Errorf("%s marked revoked although its token could not be: half a revocation", id)
		}
	}
}
