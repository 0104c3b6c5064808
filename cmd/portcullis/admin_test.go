package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-id/portcullis/idp/apitoken"
	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/declare"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/store/bolt"
	"github.com/portcullis-id/portcullis/web/api"
)

// Fakes for the services the admin API needs; the API itself and the store are real.

type cliPasswords struct{ st store.Store }

func (p cliPasswords) SetPassword(ctx context.Context, userID, password string, mustChange bool) error {
	if len(password) < 12 {
		return &api.PasswordPolicyError{Reason: "must be at least 12 characters"}
	}
	_, err := p.st.PutCredential(ctx, store.Credential{UserID: userID, Type: store.CredentialPassword, ID: "password",
		Secret: []byte("$argon2id$v=19$m=1,t=1,p=1$c2FsdA$" + base64.RawStdEncoding.EncodeToString([]byte(password))), MustChange: mustChange})
	return err
}

func (p cliPasswords) Deactivate(ctx context.Context, userID string) error {
	u, err := p.st.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	u.Active = false
	_, err = p.st.UpdateUser(ctx, u)
	return err
}

type cliClientRules struct{}

func (cliClientRules) ValidateClient(c store.Client) error {
	var errs []error
	for i, u := range c.RedirectURIs {
		if p, err := url.Parse(u); err != nil || !p.IsAbs() {
			errs = append(errs, fmt.Errorf("redirect_uris[%d]: must be absolute", i))
		}
	}
	return errors.Join(errs...)
}

func (cliClientRules) NewClientSecret(rnd io.Reader, now, expires time.Time) (string, store.ClientSecret, error) {
	b := make([]byte, 40)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", store.ClientSecret{}, err
	}
	plain := base64.RawURLEncoding.EncodeToString(b[:32])
	d := sha256.Sum256([]byte(plain))
	return plain, store.ClientSecret{ID: hex.EncodeToString(b[32:]), Digest: d[:], CreatedAt: now, ExpiresAt: expires}, nil
}

type cliHasher struct{}

func (cliHasher) Hash(string) (string, error) { return "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", nil }
func (cliHasher) CheckHash(string) error      { return nil }
func (cliHasher) CheckPolicy(p, _ string) error {
	if len(p) < 12 {
		return errors.New("must be at least 12 characters")
	}
	return nil
}

type cliKeys struct{ rotated int }

func (k *cliKeys) Rotate(context.Context) error { k.rotated++; return nil }
func (k *cliKeys) List(context.Context) ([]api.KeyInfo, error) {
	return []api.KeyInfo{{ID: fmt.Sprintf("kid-%d", k.rotated), Algorithm: "ES256", State: store.KeyActive}}, nil
}

// cliEnv is an admin API on httptest with a token file for the CLI.
type cliEnv struct {
	t         *testing.T
	st        store.Store
	url       string
	tokenFile string
}

func newCLIEnv(t *testing.T) *cliEnv {
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
		Now:     now, Rand: rand.Reader,
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

// run executes a command with the connection flags and returns stdout, stderr, err.
func (e *cliEnv) run(cmd *cobra.Command, stdin string, args ...string) (string, string, error) {
	e.t.Helper()
	var out, errOut bytes.Buffer
	cmd.SetArgs(append(args, "--server", e.url, "--token-file", e.tokenFile))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func (e *cliEnv) admin(stdin string, args ...string) string {
	e.t.Helper()
	out, _, err := e.run(newAdminCmd(), stdin, args...)
	if err != nil {
		e.t.Fatalf("admin %v: %v", args, err)
	}
	return out
}

func mustContain(t *testing.T, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("output lacks %q:\n%s", w, s)
		}
	}
}

func TestAdminUsersAndGroupsByName(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	ctx := context.Background()

	out := e.admin("a-long-enough-password\n", "users", "create", "alice", "--email", "alice@example.com", "--role", "admin", "--password-stdin", "--must-change")
	mustContain(t, out, "created user alice")
	alice, err := e.st.GetUserByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := e.st.GetCredential(ctx, alice.ID, store.CredentialPassword, "password"); err != nil || !c.MustChange {
		t.Fatalf("password not set from stdin: %v", err)
	}
	e.admin("", "users", "create", "bob")

	out = e.admin("", "users", "list")
	mustContain(t, out, "USER_NAME", "alice", "alice@example.com", "bob")
	out = e.admin("", "users", "get", "ALICE", "-o", "json")
	var u store.User
	if err := json.Unmarshal([]byte(out), &u); err != nil || u.ID != alice.ID {
		t.Fatalf("json get: %v %s", err, out)
	}

	// --password works but warns about shell history.
	_, stderr, err := e.run(newAdminCmd(), "", "users", "set-password", "bob", "--password", "another-long-password")
	if err != nil || !strings.Contains(stderr, "shell history") {
		t.Fatalf("set-password --password: %v, stderr %q", err, stderr)
	}
	// A refused password prints the server's message and field.
	_, _, err = e.run(newAdminCmd(), "short\n", "users", "set-password", "bob", "--password-stdin")
	if err == nil || !strings.Contains(err.Error(), "password: must be at least 12 characters") || !strings.Contains(err.Error(), "400") {
		t.Fatalf("weak password: %v", err)
	}
	_, _, err = e.run(newAdminCmd(), "", "users", "set-password", "bob")
	if err == nil || !strings.Contains(err.Error(), "--password-stdin") {
		t.Fatalf("missing password: %v", err)
	}
	_, _, err = e.run(newAdminCmd(), "", "users", "create", "bad", "--email", "nope")
	if err == nil || !strings.Contains(err.Error(), "emails[0]") {
		t.Fatalf("bad email: %v", err)
	}

	mustContain(t, e.admin("", "groups", "create", "eng", "--member", "alice"), "created group eng")
	mustContain(t, e.admin("", "groups", "add-member", "eng", "bob"), "added bob to eng")
	g, _ := e.st.GetGroupByName(ctx, "eng")
	if len(g.Members) != 2 {
		t.Fatalf("members %v", g.Members)
	}
	mustContain(t, e.admin("", "groups", "list"), "eng", "2")
	mustContain(t, e.admin("", "groups", "remove-member", "eng", "alice"), "removed alice from eng")
	mustContain(t, e.admin("", "groups", "delete", "eng"), "deleted group eng")
	_, _, err = e.run(newAdminCmd(), "", "groups", "delete", "eng")
	if err == nil || !strings.Contains(err.Error(), `no group named "eng"`) {
		t.Fatalf("delete missing group: %v", err)
	}

	mustContain(t, e.admin("", "users", "deactivate", "bob"), "deactivated user bob")
	if b, _ := e.st.GetUserByName(ctx, "bob"); b.Active {
		t.Fatal("bob still active")
	}
	mustContain(t, e.admin("", "users", "delete", "bob"), "deleted user bob")
	if _, err := e.st.GetUserByName(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("bob not deleted")
	}
}

func TestAdminClientsShowSecretOnce(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	out := e.admin("", "clients", "create", "demo", "--redirect-uri", "https://app.example.com/cb", "--grant-type", "authorization_code", "--scope", "profile")
	mustContain(t, out, "client_id:     demo", "client_secret: ", "shown once")
	secret := strings.TrimSpace(strings.SplitN(strings.SplitN(out, "client_secret: ", 2)[1], "\n", 2)[0])
	c, err := e.st.GetClient(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if d := sha256.Sum256([]byte(secret)); string(c.Secrets[0].Digest) != string(d[:]) {
		t.Fatal("printed secret is not the stored one")
	}
	for _, args := range [][]string{{"clients", "get", "demo"}, {"clients", "list"}, {"clients", "get", "demo", "-o", "json"}} {
		if got := e.admin("", args...); strings.Contains(got, secret) {
			t.Fatalf("%v shows the secret again", args)
		}
	}
	out = e.admin("", "clients", "create", "cli", "--public", "--native", "--redirect-uri", "http://127.0.0.1/cb")
	mustContain(t, out, "public client")
	if strings.Contains(out, "client_secret") {
		t.Fatal("public client got a secret")
	}
	_, _, err = e.run(newAdminCmd(), "", "clients", "create", "bad", "--redirect-uri", "relative/cb")
	if err == nil || !strings.Contains(err.Error(), "redirect_uris[0]: must be absolute") {
		t.Fatalf("bad redirect: %v", err)
	}

	out = e.admin("", "clients", "add-secret", "demo", "--expire-others-in", "24h")
	mustContain(t, out, "added secret", "client_secret: ")
	out = e.admin("", "clients", "get", "demo")
	mustContain(t, out, "SECRET_ID", "never")
	_, _, err = e.run(newAdminCmd(), "", "clients", "add-secret", "demo")
	if err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("third secret: %v", err)
	}
	mustContain(t, e.admin("", "clients", "delete-secret", "demo", c.Secrets[0].ID), "deleted secret")
	mustContain(t, e.admin("", "clients", "delete", "demo"), "deleted client demo")
}

func TestAdminKeysAndTokens(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	mustContain(t, e.admin("", "keys", "list"), "KID", "kid-0", "ES256", "active")
	mustContain(t, e.admin("", "keys", "rotate"), "kid-1")

	out := e.admin("", "tokens", "create", "ci", "--expires-in", "2h")
	mustContain(t, out, "created token ci", "pct_", "shown once")
	var plain string
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "pct_") {
			plain = f
		}
	}
	out = e.admin("", "tokens", "list")
	mustContain(t, out, "cli-test", "ci", "admin")
	if strings.Contains(out, plain) {
		t.Fatal("token list shows a token secret")
	}
	var l tokenList
	if err := json.Unmarshal([]byte(e.admin("", "tokens", "list", "-o", "json")), &l); err != nil {
		t.Fatal(err)
	}
	var id string
	for _, tk := range l.Items {
		if tk.Name == "ci" {
			id = tk.ID
		}
	}
	// By name: the walkthrough revokes "bootstrap" this way.
	mustContain(t, e.admin("", "tokens", "revoke", "ci"), "revoked token ci (id "+id+")")
	// The revoked token no longer works.
	tf := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(tf, []byte(plain), 0o600)
	cmd := newAdminCmd()
	cmd.SetArgs([]string{"users", "list", "--server", e.url, "--token-file", tf})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("revoked token: %v", err)
	}
}

func TestApplyCommandPrintsPlanAndSecrets(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	dir := t.TempDir()
	users := filepath.Join(dir, "users.yaml")
	clients := filepath.Join(dir, "clients.yaml")
	os.WriteFile(users, []byte("users:\n  - user_name: alice\ngroups:\n  - name: eng\n    members: [alice]\n"), 0o600)
	os.WriteFile(clients, []byte("clients:\n  - id: demo\n    redirect_uris: [https://app.example.com/cb]\n"), 0o600)

	out, _, err := e.run(newApplyCmd(), "", "-f", users, "-f", clients, "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, out, "Dry run", "+ user alice", "+ group eng", "+ client demo", "3 to create, 0 to update, 0 to delete, 0 unchanged")
	if strings.Contains(out, "client_secret") {
		t.Fatal("dry run shows a secret")
	}
	if _, err := e.st.GetUserByName(context.Background(), "alice"); err == nil {
		t.Fatal("dry run wrote")
	}

	out, _, err = e.run(newApplyCmd(), "", "-f", dir)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, out, "+ user alice", "client_id: demo  client_secret: ", "shown once")
	out, _, err = e.run(newApplyCmd(), "", "-f", users+","+clients)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, out, "= user alice", "= client demo", "0 to create, 0 to update, 0 to delete, 3 unchanged")

	// Errors name the file, the line and the key path, and fail the command.
	os.WriteFile(clients, []byte("clients:\n  - id: demo\n    redirect_uris: [relative]\n"), 0o600)
	_, _, err = e.run(newApplyCmd(), "", "-f", users, "-f", clients)
	if err == nil || !strings.Contains(err.Error(), "clients[0].redirect_uris[0]: must be absolute") || !strings.Contains(err.Error(), "clients.yaml:3") {
		t.Fatalf("invalid file: %v", err)
	}
	out, _, err = e.run(newApplyCmd(), "users:\n  - user_name: carol\n", "-f", "-", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var res declare.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Changes) != 1 {
		t.Fatalf("json result %v %s", err, out)
	}
	if _, _, err := e.run(newApplyCmd(), ""); err == nil {
		t.Fatal("apply without files succeeded")
	}
}

func TestResolveTokenPrecedence(t *testing.T) {
	t.Parallel()
	tf := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(tf, []byte("  from-file\n"), 0o600)
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == envToken {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name, file, env, want, err string
	}{
		{"file wins over env", tf, "from-env", "from-file", ""},
		{"env when no file", "", "from-env", "from-env", ""},
		{"nothing", "", "", "", "no admin token"},
		{"missing file", tf + "x", "from-env", "", "read --token-file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := resolveToken(tc.file, env(tc.env))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestCheckServerRefusesCleartextOffLoopback(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"http://127.0.0.1:8080":   true,
		"http://localhost:8080/":  true,
		"http://[::1]:8080":       true,
		"https://idp.example.com": true,
		"http://idp.example.com":  false,
		"http://10.0.0.5:8080":    false,
		"ftp://127.0.0.1":         false,
		"127.0.0.1:8080":          false,
	}
	for in, ok := range tests {
		if _, err := checkServer(in); (err == nil) != ok {
			t.Errorf("checkServer(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}
