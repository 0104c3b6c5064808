package declare

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/store/bolt"
)

// fakeHasher stands in for the argon2id hasher and the password policy.
type fakeHasher struct{}

const fakePHCPrefix = "$argon2id$v=19$m=19456,t=2,p=1$"

func (fakeHasher) Hash(p string) (string, error) {
	return fakePHCPrefix + base64.RawStdEncoding.EncodeToString([]byte("salt")) + "$" + base64.RawStdEncoding.EncodeToString([]byte(p)), nil
}

func (fakeHasher) CheckHash(phc string) error {
	if !strings.HasPrefix(phc, "$argon2id$v=19$") || strings.Count(phc, "$") != 5 {
		return errors.New("not an argon2id PHC string")
	}
	return nil
}

func (fakeHasher) CheckPolicy(p, user string) error {
	switch {
	case len(p) < 12:
		return errors.New("must be at least 12 characters")
	case strings.Contains(strings.ToLower(p), strings.ToLower(user)):
		return errors.New("must not contain the user name")
	}
	return nil
}

// fieldErr mimics the OIDC package's field errors.
type fieldErr struct{ Path, Msg string }

func (e *fieldErr) Error() string { return e.Path + ": " + e.Msg }

// fakeClients validates redirect URIs and mints secrets like the OIDC package.
type fakeClients struct{}

func (fakeClients) ValidateClient(c store.Client) error {
	var errs []error
	for i, u := range c.RedirectURIs {
		if p, err := url.Parse(u); err != nil || !p.IsAbs() {
			errs = append(errs, &fieldErr{fmt.Sprintf("redirect_uris[%d]", i), "must be absolute"})
		}
	}
	if c.AccessTokenFormat != "" && c.AccessTokenFormat != store.AccessTokenJWT && c.AccessTokenFormat != store.AccessTokenOpaque {
		errs = append(errs, &fieldErr{"access_token_format", "must be jwt or opaque"})
	}
	return errors.Join(errs...)
}

func (fakeClients) NewClientSecret(rand io.Reader, now, expires time.Time) (string, store.ClientSecret, error) {
	b := make([]byte, 40)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", store.ClientSecret{}, err
	}
	plain := "pcs_" + hex.EncodeToString(b[:32])
	d := sha256.Sum256([]byte(plain))
	return plain, store.ClientSecret{ID: hex.EncodeToString(b[32:]), Digest: d[:], CreatedAt: now, ExpiresAt: expires}, nil
}

// recorder keeps audit events in memory.
type recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *recorder) Record(_ context.Context, e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.Action+" "+e.Target+" "+e.Outcome)
	}
	return out
}

var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := bolt.Open(context.Background(), filepath.Join(t.TempDir(), "portcullis.db"), bolt.Options{NoSync: true, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func newTestReconciler(t *testing.T) (*Reconciler, store.Store, *recorder) {
	t.Helper()
	st := openStore(t)
	rec := &recorder{}
	return New(st, fakeHasher{}, fakeClients{}, rec, func() time.Time { return testNow }, crand.Reader), st, rec
}

func mustParse(t *testing.T, src string) []Document {
	t.Helper()
	docs, err := Parse([]byte(src), "test.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return docs
}
