package api

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/idp/declare"
	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/store/bolt"
)

// fakeMFA keeps factors in memory, as the MFA service would list them.
type fakeMFA struct {
	mu      sync.Mutex
	factors map[string][]mfa.Factor // by user id
	resets  []string                // "userID actor"
	err     error                   // returned by every call when set
}

func (f *fakeMFA) Factors(_ context.Context, userID string) ([]mfa.Factor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return slices.Clone(f.factors[userID]), nil
}

func (f *fakeMFA) Reset(_ context.Context, userID, actor string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	delete(f.factors, userID)
	f.resets = append(f.resets, userID+" "+actor)
	return nil
}

func (f *fakeMFA) set(userID string, fs ...mfa.Factor) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.factors == nil {
		f.factors = map[string][]mfa.Factor{}
	}
	f.factors[userID] = fs
}

// countingMFA also reports recovery codes left.
type countingMFA struct {
	*fakeMFA
	left int
}

func (c countingMFA) RecoveryCodesLeft(context.Context, string) (int, error) { return c.left, nil }

// testClock is a settable clock for the store, so records can be dated in the past.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// newMFAEnv is newEnv with an MFA service (nil for none), a store clock the test
// moves, and the API's clock fixed at testNow.
func newMFAEnv(t *testing.T, svc MFAService) (*env, *testClock) {
	t.Helper()
	clk := &testClock{t: testNow}
	st, err := bolt.Open(context.Background(), filepath.Join(t.TempDir(), "db"), bolt.Options{NoSync: true, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	rec := &recorder{}
	now := func() time.Time { return testNow }
	a := New(Deps{
		Store:     st,
		Keys:      &fakeKeys{},
		Passwords: fakePasswords{st: st},
		Clients:   fakeClients{},
		Declare:   declare.New(st, fakeHasher{}, fakeClients{}, rec, now, rand.Reader),
		MFA:       svc,
		Audit:     rec,
		Now:       now,
		Rand:      rand.Reader,
	})
	mux := http.NewServeMux()
	a.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e := &env{t: t, st: st, srv: srv, rec: rec}
	e.admin, e.tokID = e.mintToken("ops", []string{"admin"}, testNow.Add(time.Hour), false)
	return e, clk
}

func (e *env) mkUser(id, name string, roles ...string) store.User {
	e.t.Helper()
	u, err := e.st.CreateUser(context.Background(), store.User{ID: id, UserName: name, Active: true, Roles: roles})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) putCred(userID, typ, id, secret string) {
	e.t.Helper()
	if _, err := e.st.PutCredential(context.Background(), store.Credential{UserID: userID, Type: typ, ID: id, Secret: []byte(secret)}); err != nil {
		e.t.Fatal(err)
	}
}

func TestUserMFAListsFactorsSorted(t *testing.T) {
	t.Parallel()
	svc := &fakeMFA{}
	e, _ := newMFAEnv(t, svc)
	u := e.mkUser("u-alice", "alice")
	used := testNow.Add(-time.Hour)
	svc.set(u.ID,
		mfa.Factor{ID: "wa-2", Type: mfa.TypeWebAuthn, Name: "YubiKey", CreatedAt: testNow.Add(-time.Hour)},
		mfa.Factor{ID: mfa.TypeRecovery, Type: mfa.TypeRecovery, Name: "Recovery codes", CreatedAt: testNow.Add(-48 * time.Hour)},
		mfa.Factor{ID: "totp-1", Type: mfa.TypeTOTP, Name: "Phone", CreatedAt: testNow.Add(-24 * time.Hour), LastUsedAt: used},
		mfa.Factor{ID: "wa-1", Type: mfa.TypeWebAuthn, Name: "Laptop", CreatedAt: testNow.Add(-2 * time.Hour), Passkey: true},
	)
	r := e.do("GET", "/users/"+u.ID+"/mfa", e.admin, nil)
	expect(t, r, http.StatusOK)
	var got UserMFA
	r.decode(t, &got)
	var ids []string
	for _, f := range got.Items {
		ids = append(ids, f.ID)
	}
	if !got.Enrolled || !slices.Equal(ids, []string{"recovery", "totp-1", "wa-1", "wa-2"}) {
		t.Fatalf("got %+v, want enrolled and sorted by type then age", got)
	}
	if f := got.Items[1]; f.Name != "Phone" || !f.LastUsedAt.Equal(used) || !f.CreatedAt.Equal(testNow.Add(-24*time.Hour)) {
		t.Errorf("totp factor = %+v", f)
	}
	if !got.Items[2].Passkey || got.Items[3].Passkey {
		t.Errorf("passkey flags = %v %v", got.Items[2].Passkey, got.Items[3].Passkey)
	}
	if strings.Contains(string(r.body), "last_used_at\":\"0001") {
		t.Error("a never-used factor shows a zero last_used_at")
	}

	// Recovery codes alone are not an enrolled second factor.
	svc.set(u.ID, mfa.Factor{ID: mfa.TypeRecovery, Type: mfa.TypeRecovery, CreatedAt: testNow})
	e.do("GET", "/users/"+u.ID+"/mfa", e.admin, nil).decode(t, &got)
	if got.Enrolled || len(got.Items) != 1 {
		t.Errorf("recovery only = %+v, want not enrolled", got)
	}
	svc.set(u.ID)
	r = e.do("GET", "/users/"+u.ID+"/mfa", e.admin, nil)
	if !strings.Contains(string(r.body), `"items":[]`) {
		t.Errorf("no factors = %s, want an empty list", r.body)
	}
	expect(t, e.do("GET", "/users/nobody/mfa", e.admin, nil), http.StatusNotFound)
	expect(t, e.do("GET", "/users/"+u.ID+"/mfa", "", nil), http.StatusUnauthorized)
}

func TestUserMFAWithoutServiceReadsStoredCredentialsButNoSecrets(t *testing.T) {
	t.Parallel()
	e, _ := newMFAEnv(t, nil)
	u := e.mkUser("u-bob", "bob")
	e.putCred(u.ID, store.CredentialPassword, "password", "$argon2id$v=19$PASSWORDHASH")
	e.putCred(u.ID, store.CredentialTOTP, "totp-1", "TOTPSEEDSEALED")
	e.putCred(u.ID, store.CredentialRecovery, "r1", "RECOVERYHASH1")
	e.putCred(u.ID, store.CredentialRecovery, "r2", "RECOVERYHASH2")
	r := e.do("GET", "/users/"+u.ID+"/mfa", e.admin, nil)
	expect(t, r, http.StatusOK)
	for _, secret := range []string{"PASSWORDHASH", "TOTPSEED", "RECOVERYHASH", "password"} {
		if strings.Contains(string(r.body), secret) {
			t.Errorf("response contains %q: %s", secret, r.body)
		}
	}
	var got UserMFA
	r.decode(t, &got)
	if !got.Enrolled || len(got.Items) != 2 || got.Items[0].Type != mfa.TypeRecovery || got.Items[1].ID != "totp-1" {
		t.Fatalf("got %+v, want one recovery entry and the TOTP factor", got)
	}
}

func TestResetUserMFARemovesEveryFactorAndIsAudited(t *testing.T) {
	t.Parallel()
	svc := &fakeMFA{}
	e, _ := newMFAEnv(t, svc)
	u := e.mkUser("u-carol", "carol")
	other := e.mkUser("u-dave", "dave")
	svc.set(u.ID,
		mfa.Factor{ID: "totp-1", Type: mfa.TypeTOTP, CreatedAt: testNow},
		mfa.Factor{ID: "wa-1", Type: mfa.TypeWebAuthn, CreatedAt: testNow},
		mfa.Factor{ID: mfa.TypeRecovery, Type: mfa.TypeRecovery, CreatedAt: testNow},
	)
	svc.set(other.ID, mfa.Factor{ID: "totp-9", Type: mfa.TypeTOTP, CreatedAt: testNow})
	ctx := context.Background()
	for _, sid := range []string{"s-carol", "s-dave"} {
		owner := u.ID
		if sid == "s-dave" {
			owner = other.ID
		}
		if err := e.st.CreateSession(ctx, store.Session{ID: sid, UserID: owner, AuthTime: testNow, ExpiresAt: testNow.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}

	r := e.do("POST", "/users/"+u.ID+"/mfa/reset", e.admin, nil)
	expect(t, r, http.StatusNoContent)
	if s, _ := e.st.GetSession(ctx, "s-carol"); !s.Revoked {
		t.Error("the reset user's session survived the MFA reset")
	}
	if s, _ := e.st.GetSession(ctx, "s-dave"); s.Revoked {
		t.Error("another user's session was revoked")
	}
	if want := u.ID + " token:ops/" + e.tokID; !slices.Equal(svc.resets, []string{want}) {
		t.Fatalf("resets = %q, want %q", svc.resets, want)
	}
	var got UserMFA
	e.do("GET", "/users/"+u.ID+"/mfa", e.admin, nil).decode(t, &got)
	if got.Enrolled || len(got.Items) != 0 {
		t.Errorf("after reset = %+v, want nothing enrolled", got)
	}
	if fs, _ := svc.Factors(context.Background(), other.ID); len(fs) != 1 {
		t.Errorf("another user's factors changed: %+v", fs)
	}
	ev := e.rec.find("admin.user.mfa.reset", "success")
	if ev == nil || ev.Target != "user:"+u.ID || ev.Actor != "token:ops/"+e.tokID ||
		ev.Details["factors"] != "recovery,totp,webauthn" || ev.Details["user_name"] != "carol" {
		t.Fatalf("audit event = %+v", ev)
	}

	expect(t, e.do("POST", "/users/nobody/mfa/reset", e.admin, nil), http.StatusNotFound)
	if ev := e.rec.find("admin.user.mfa.reset", "failure"); ev == nil || ev.Target != "user:nobody" {
		t.Fatalf("refused reset audit = %+v", ev)
	}
	readOnly, _ := e.mintToken("viewer", []string{"viewer"}, testNow.Add(time.Hour), false)
	expect(t, e.do("POST", "/users/"+u.ID+"/mfa/reset", readOnly, nil), http.StatusForbidden)
	if e.rec.find("admin.user.mfa.reset", "denied") == nil {
		t.Fatal("denied reset not audited")
	}
	if len(svc.resets) != 1 {
		t.Fatalf("refused calls reached the service: %q", svc.resets)
	}
}

func TestResetUserMFAServiceFailureIs500(t *testing.T) {
	t.Parallel()
	svc := &fakeMFA{err: errors.New("disk on fire")}
	e, _ := newMFAEnv(t, svc)
	u := e.mkUser("u-erin", "erin")
	r := e.do("POST", "/users/"+u.ID+"/mfa/reset", e.admin, nil)
	expect(t, r, http.StatusInternalServerError)
	if strings.Contains(string(r.body), "disk on fire") {
		t.Fatal("internal error shown to the client")
	}
}

func TestResetUserMFAWithoutServiceIsNotImplemented(t *testing.T) {
	t.Parallel()
	e, _ := newMFAEnv(t, nil)
	u := e.mkUser("u-frank", "frank")
	expect(t, e.do("POST", "/users/"+u.ID+"/mfa/reset", e.admin, nil), http.StatusNotImplemented)
}

func TestClientRequireMFACreatePatchGet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/clients", e.admin, map[string]any{"id": "payroll", "redirect_uris": []string{"https://payroll.example.com/cb"}, "require_mfa": true})
	expect(t, r, http.StatusCreated)
	var c Client
	r.decode(t, &c)
	if !c.RequireMFA {
		t.Fatalf("created %+v, want require_mfa", c)
	}
	if st, _ := e.st.GetClient(context.Background(), "payroll"); !st.RequireMFA {
		t.Fatal("require_mfa not stored")
	}
	r = e.do("PATCH", "/clients/payroll", e.admin, map[string]any{"require_mfa": false})
	expect(t, r, http.StatusOK)
	r.decode(t, &c)
	if c.RequireMFA || c.Version != 2 {
		t.Fatalf("patched %+v, want require_mfa false at version 2", c)
	}
	if ev := e.rec.find("admin.client.update", "success"); ev == nil || ev.Details["fields"] != "require_mfa" {
		t.Fatalf("audit = %+v", ev)
	}
	// Shown even when false, so an administrator can see the client does not demand it.
	r = e.do("GET", "/clients/payroll", e.admin, nil)
	if !strings.Contains(string(r.body), `"require_mfa":false`) {
		t.Fatalf("get = %s", r.body)
	}
	expectField(t, e.do("PATCH", "/clients/payroll", e.admin, map[string]any{"require_mfa": "yes"}), http.StatusBadRequest, "require_mfa")
}
