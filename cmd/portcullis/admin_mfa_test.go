package main

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/idp/apitoken"
	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/declare"
	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/store/bolt"
	"github.com/portcullis-id/portcullis/web/api"
)

// cliMFA keeps factors in memory in place of the MFA service.
type cliMFA struct {
	mu      sync.Mutex
	factors map[string][]mfa.Factor
	resets  []string
}

func (f *cliMFA) Factors(_ context.Context, userID string) ([]mfa.Factor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.factors[userID]), nil
}

func (f *cliMFA) Reset(_ context.Context, userID, actor string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.factors, userID)
	f.resets = append(f.resets, userID+" "+actor)
	return nil
}

// newCLIMFAEnv is newCLIEnv with an MFA service behind the API.
func newCLIMFAEnv(t *testing.T, svc api.MFAService) *cliEnv {
	t.Helper()
	dir := t.TempDir()
	st, err := bolt.Open(context.Background(), filepath.Join(dir, "db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Now
	a := api.New(api.Deps{
		Store: st, Keys: &cliKeys{}, Passwords: cliPasswords{st: st}, Clients: cliClientRules{},
		Declare: declare.New(st, cliHasher{}, cliClientRules{}, audit.Discard{}, now, rand.Reader),
		MFA:     svc, Now: now, Rand: rand.Reader,
	})
	mux := http.NewServeMux()
	a.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	plain, tok, err := apitoken.New(rand.Reader, "cli-test", []string{"admin"}, now(), now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAPIToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	tf := filepath.Join(dir, "token")
	if err := os.WriteFile(tf, []byte(plain+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cliEnv{t: t, st: st, url: srv.URL, tokenFile: tf}
}

func TestAdminUsersMFAListAndReset(t *testing.T) {
	t.Parallel()
	svc := &cliMFA{}
	e := newCLIMFAEnv(t, svc)
	e.admin("", "users", "create", "alice")
	e.admin("", "users", "create", "bob")
	alice, err := e.st.GetUserByName(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	svc.factors = map[string][]mfa.Factor{alice.ID: {
		{ID: "totp-1", Type: mfa.TypeTOTP, Name: "Phone", CreatedAt: created, LastUsedAt: created.Add(time.Hour)},
		{ID: "wa-1", Type: mfa.TypeWebAuthn, Name: "Laptop", CreatedAt: created, Passkey: true},
	}}

	out := e.admin("", "users", "mfa", "alice")
	mustContain(t, out, "TYPE", "totp", "Phone", "2026-01-02T04:04:05Z", "webauthn (passkey)", "Laptop", "never")
	var m api.UserMFA
	if err := json.Unmarshal([]byte(e.admin("", "users", "mfa", "alice", "-o", "json")), &m); err != nil || !m.Enrolled || len(m.Items) != 2 {
		t.Fatalf("json: %v %+v", err, m)
	}
	mustContain(t, e.admin("", "users", "mfa", "bob"), "user bob has no second factor")

	out = e.admin("", "users", "reset-mfa", "alice")
	mustContain(t, out, "removed every second factor of user alice")
	if len(svc.resets) != 1 || !strings.HasPrefix(svc.resets[0], alice.ID+" token:cli-test/") {
		t.Fatalf("resets = %q", svc.resets)
	}
	mustContain(t, e.admin("", "users", "mfa", "alice"), "user alice has no second factor")
	if _, _, err := e.run(newAdminCmd(), "", "users", "reset-mfa", "nobody"); err == nil || !strings.Contains(err.Error(), `no user named "nobody"`) {
		t.Fatalf("reset of unknown user: %v", err)
	}
}

func TestAdminReportCredentials(t *testing.T) {
	t.Parallel()
	svc := &cliMFA{}
	e := newCLIMFAEnv(t, svc)
	e.admin("a-long-enough-password\n", "users", "create", "alice", "--role", "admin", "--password-stdin")
	e.admin("", "users", "create", "=cmd|' /C calc'!A0")
	alice, _ := e.st.GetUserByName(context.Background(), "alice")
	svc.factors = map[string][]mfa.Factor{alice.ID: {{ID: "totp-1", Type: mfa.TypeTOTP, CreatedAt: time.Now()}}}

	out := e.admin("", "report", "credentials")
	mustContain(t, out, "USER_NAME", "PASSWORD_AGE", "alice", "admin", "0d", "totp", "never", "=cmd|' /C calc'!A0", "none")

	out = e.admin("", "report", "credentials", "--mfa", "none")
	if strings.Contains(out, "alice") || !strings.Contains(out, "=cmd") {
		t.Fatalf("--mfa none:\n%s", out)
	}

	var rep api.CredentialReport
	if err := json.Unmarshal([]byte(e.admin("", "report", "credentials", "-o", "json")), &rep); err != nil || len(rep.Items) != 2 {
		t.Fatalf("json: %v %+v", err, rep)
	}

	out = e.admin("", "report", "credentials", "-o", "csv")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	if len(recs) != 3 || recs[0][0] != "user_name" || recs[1][0] != "'=cmd|' /C calc'!A0" || recs[2][0] != "alice" || recs[2][7] != "totp" {
		t.Fatalf("csv records = %q", recs)
	}

	if _, _, err := e.run(newAdminCmd(), "", "report", "credentials", "--mfa", "some"); err == nil || !strings.Contains(err.Error(), "mfa: ") {
		t.Fatalf("bad filter: %v", err)
	}
	if _, _, err := e.run(newAdminCmd(), "", "report", "credentials", "-o", "xml"); err == nil || !strings.Contains(err.Error(), "must be table, json, csv") {
		t.Fatalf("bad output: %v", err)
	}
	// Other commands still refuse csv.
	if _, _, err := e.run(newAdminCmd(), "", "users", "list", "-o", "csv"); err == nil {
		t.Fatal("users list accepted -o csv")
	}
}

func TestAdminClientsRequireMFA(t *testing.T) {
	t.Parallel()
	e := newCLIMFAEnv(t, nil)
	ctx := context.Background()
	e.admin("", "clients", "create", "payroll", "--redirect-uri", "https://payroll.example.com/cb", "--require-mfa")
	if c, err := e.st.GetClient(ctx, "payroll"); err != nil || !c.RequireMFA {
		t.Fatalf("create --require-mfa: %v %+v", err, c)
	}
	e.admin("", "clients", "create", "wiki", "--redirect-uri", "https://wiki.example.com/cb")
	if c, _ := e.st.GetClient(ctx, "wiki"); c.RequireMFA {
		t.Fatal("client created without --require-mfa requires it")
	}

	mustContain(t, e.admin("", "clients", "update", "payroll", "--require-mfa=false"), "updated client payroll (require_mfa: no)")
	if c, _ := e.st.GetClient(ctx, "payroll"); c.RequireMFA {
		t.Fatal("--require-mfa=false not applied")
	}
	mustContain(t, e.admin("", "clients", "update", "wiki", "--require-mfa"), "(require_mfa: yes)")
	var cl api.Client
	if err := json.Unmarshal([]byte(e.admin("", "clients", "get", "wiki", "-o", "json")), &cl); err != nil || !cl.RequireMFA {
		t.Fatalf("get -o json: %v %+v", err, cl)
	}
	before, _ := e.st.GetClient(ctx, "wiki")
	if _, _, err := e.run(newAdminCmd(), "", "clients", "update", "wiki"); err == nil || !strings.Contains(err.Error(), "nothing to change") {
		t.Fatalf("update without flags: %v", err)
	}
	if after, _ := e.st.GetClient(ctx, "wiki"); after.Version != before.Version {
		t.Fatal("update without flags wrote")
	}
}
