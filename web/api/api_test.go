package api

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
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/idp/apitoken"
	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/declare"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/store/bolt"
)

var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// fakePasswords enforces a length policy and stores a recognisable fake hash.
type fakePasswords struct {
	st store.Store
}

func (p fakePasswords) SetPassword(ctx context.Context, userID, password string, mustChange bool) error {
	if len(password) < 12 {
		return fmt.Errorf("set password for user %s: %w", userID, &PasswordPolicyError{Reason: "must be at least 12 characters"})
	}
	if _, err := p.st.GetUser(ctx, userID); err != nil {
		return err
	}
	_, err := p.st.PutCredential(ctx, store.Credential{UserID: userID, Type: store.CredentialPassword, ID: "password",
		Secret: []byte("$argon2id$v=19$m=1,t=1,p=1$c2FsdA$" + base64.RawStdEncoding.EncodeToString([]byte(password))), MustChange: mustChange})
	return err
}

func (p fakePasswords) Deactivate(ctx context.Context, userID string) error {
	u, err := p.st.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	if !u.Active {
		return nil
	}
	u.Active = false
	_, err = p.st.UpdateUser(ctx, u)
	if err == nil {
		err = p.st.RevokeUserSessions(ctx, userID)
	}
	return err
}

type fieldErr struct{ Path, Msg string }

func (e *fieldErr) Error() string { return e.Path + ": " + e.Msg }

type fakeClients struct{}

func (fakeClients) ValidateClient(c store.Client) error {
	var errs []error
	for i, u := range c.RedirectURIs {
		if p, err := url.Parse(u); err != nil || !p.IsAbs() {
			errs = append(errs, &fieldErr{fmt.Sprintf("redirect_uris[%d]", i), "must be absolute"})
		}
	}
	return errors.Join(errs...)
}

func (fakeClients) NewClientSecret(rnd io.Reader, now, expires time.Time) (string, store.ClientSecret, error) {
	b := make([]byte, 40)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", store.ClientSecret{}, err
	}
	plain := base64.RawURLEncoding.EncodeToString(b[:32])
	d := sha256.Sum256([]byte(plain))
	return plain, store.ClientSecret{ID: hex.EncodeToString(b[32:]), Digest: d[:], CreatedAt: now, ExpiresAt: expires}, nil
}

type fakeHasher struct{}

func (fakeHasher) Hash(p string) (string, error) {
	return "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", nil
}
func (fakeHasher) CheckHash(phc string) error {
	if !strings.HasPrefix(phc, "$argon2id$") {
		return errors.New("not argon2id")
	}
	return nil
}
func (fakeHasher) CheckPolicy(p, _ string) error {
	if len(p) < 12 {
		return errors.New("must be at least 12 characters")
	}
	return nil
}

type fakeKeys struct {
	mu   sync.Mutex
	keys []KeyInfo
}

func (k *fakeKeys) Rotate(context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := range k.keys {
		if k.keys[i].State == store.KeyActive {
			k.keys[i].State = store.KeyRetired
		}
	}
	k.keys = append(k.keys, KeyInfo{ID: fmt.Sprintf("k%d", len(k.keys)+1), Algorithm: "ES256", State: store.KeyActive})
	return nil
}

func (k *fakeKeys) List(context.Context) ([]KeyInfo, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]KeyInfo(nil), k.keys...), nil
}

type recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *recorder) Record(_ context.Context, e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) find(action, outcome string) *audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.events {
		if r.events[i].Action == action && r.events[i].Outcome == outcome {
			e := r.events[i]
			return &e
		}
	}
	return nil
}

// env is one API on a fresh store with an admin token.
type env struct {
	t     *testing.T
	st    store.Store
	srv   *httptest.Server
	rec   *recorder
	keys  *fakeKeys
	admin string // plain admin token
	tokID string
	api   *API
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith lets a test adjust the dependencies before the API is built.
func newEnvWith(t *testing.T, adjust func(*Deps)) *env {
	t.Helper()
	st, err := bolt.Open(context.Background(), filepath.Join(t.TempDir(), "db"), bolt.Options{NoSync: true, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	rec := &recorder{}
	keys := &fakeKeys{keys: []KeyInfo{{ID: "k0", Algorithm: "RS256", State: store.KeyActive}}}
	now := func() time.Time { return testNow }
	d := Deps{
		Store:     st,
		Keys:      keys,
		Passwords: fakePasswords{st: st},
		Clients:   fakeClients{},
		Declare:   declare.New(st, fakeHasher{}, fakeClients{}, rec, now, rand.Reader),
		Audit:     rec,
		Now:       now,
		Rand:      rand.Reader,
	}
	if adjust != nil {
		adjust(&d)
	}
	a := New(d)
	mux := http.NewServeMux()
	a.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e := &env{t: t, st: st, srv: srv, rec: rec, keys: keys, api: a}
	e.admin, e.tokID = e.mintToken("ops", []string{"admin"}, testNow.Add(time.Hour), false)
	return e
}

func (e *env) mintToken(name string, roles []string, expires time.Time, revoked bool) (string, string) {
	e.t.Helper()
	plain, tok, err := apitoken.New(rand.Reader, name, roles, testNow.Add(-time.Minute), expires)
	if err != nil {
		e.t.Fatal(err)
	}
	tok.ExpiresAt = expires
	if _, err := e.st.CreateAPIToken(context.Background(), tok); err != nil {
		e.t.Fatal(err)
	}
	if revoked {
		if err := e.st.RevokeAPIToken(context.Background(), tok.ID); err != nil {
			e.t.Fatal(err)
		}
	}
	return plain, tok.ID
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// decode decodes into v after zeroing it, so that fields absent from the body
// (omitempty) do not keep earlier values.
func (r resp) decode(t *testing.T, v any) {
	t.Helper()
	reflect.ValueOf(v).Elem().SetZero()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

// do sends a request; body may be nil, a string (sent as is) or a value (JSON).
func (e *env) do(method, path, token string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+Prefix+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: raw}
}

func expect(t *testing.T, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
}

func expectField(t *testing.T, r resp, status int, field string) {
	t.Helper()
	expect(t, r, status)
	m := r.json(t)
	if m["field"] != field {
		t.Fatalf("field = %v, want %q; body %s", m["field"], field, r.body)
	}
}
