package apitoken

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func TestNewTokenIsPrefixedRandomAndStoredAsDigest(t *testing.T) {
	t.Parallel()
	plain, tok, err := New(rand.Reader, "ci", []string{"admin"}, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plain, "pct_") {
		t.Fatalf("plain %q lacks pct_ prefix", plain)
	}
	if err := WellFormed(plain); err != nil {
		t.Fatalf("WellFormed(own token) = %v", err)
	}
	want := sha256.Sum256([]byte(plain))
	if !bytes.Equal(tok.Digest, want[:]) || !bytes.Equal(Digest(plain), want[:]) {
		t.Fatal("digest is not SHA-256 of the plain token")
	}
	if bytes.Contains([]byte(tok.ID+tok.Name), []byte(plain[4:])) {
		t.Fatal("record leaks the secret")
	}
	if tok.ID == "" || tok.Name != "ci" || !tok.ExpiresAt.Equal(t0.Add(time.Hour)) || tok.Revoked {
		t.Fatalf("unexpected record %+v", tok)
	}
	plain2, tok2, err := New(rand.Reader, "ci", []string{"admin"}, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if plain2 == plain || tok2.ID == tok.ID {
		t.Fatal("two tokens are equal")
	}
}

func TestNewUsesAll256BitsOfTheRandomSource(t *testing.T) {
	t.Parallel()
	a, _, err := New(bytes.NewReader(bytes.Repeat([]byte{1}, 48)), "x", []string{"admin"}, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	src := append(bytes.Repeat([]byte{1}, 31), 2)
	src = append(src, bytes.Repeat([]byte{1}, 16)...)
	b, _, err := New(bytes.NewReader(src), "x", []string{"admin"}, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("last secret byte does not reach the token")
	}
}

func TestNewRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tname   string
		roles   []string
		expires time.Time
		want    string
	}{
		{"empty name", " ", []string{"admin"}, t0.Add(time.Hour), "name"},
		{"no roles", "x", nil, t0.Add(time.Hour), "roles"},
		{"blank role", "x", []string{"admin", ""}, t0.Add(time.Hour), "roles[1]"},
		{"already expired", "x", []string{"admin"}, t0, "expires_at"},
		{"no expiry", "x", []string{"admin"}, time.Time{}, "expires_at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := New(rand.Reader, tc.tname, tc.roles, t0, tc.expires)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid naming %s", err, tc.want)
			}
		})
	}
}

func TestNewFailsOnShortRandom(t *testing.T) {
	t.Parallel()
	if _, _, err := New(bytes.NewReader([]byte{1, 2, 3}), "x", []string{"admin"}, t0, t0.Add(time.Hour)); err == nil {
		t.Fatal("short random source accepted")
	}
}

func TestWellFormed(t *testing.T) {
	t.Parallel()
	good, _, _ := New(rand.Reader, "x", []string{"admin"}, t0, t0.Add(time.Hour))
	tests := map[string]bool{
		good:               true,
		"":                 false,
		"pct_":             false,
		"pct_abc":          false,
		"xyz_" + good[4:]:  false,
		good + "A":         false,
		good[:len(good)-1]: false,
		"pct_" + strings.Repeat("!", len(good)-4): false,
	}
	for in, want := range tests {
		if got := WellFormed(in) == nil; got != want {
			t.Errorf("WellFormed(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestUsableAndHasRole(t *testing.T) {
	t.Parallel()
	tok := store.APIToken{Roles: []string{"reader", "admin"}, ExpiresAt: t0.Add(time.Hour)}
	if !Usable(tok, t0) || Usable(tok, t0.Add(time.Hour)) {
		t.Fatal("expiry not honoured")
	}
	tok.Revoked = true
	if Usable(tok, t0) {
		t.Fatal("revoked token usable")
	}
	if !HasRole(tok, "admin") || HasRole(tok, "adm") {
		t.Fatal("HasRole wrong")
	}
}

// fakeStore holds just what Bootstrap reads and writes.
type fakeStore struct {
	store.Users
	users     []store.User
	tokens    []store.APIToken
	createErr error
}

func (f *fakeStore) ListUsers(context.Context) ([]store.User, error) { return f.users, nil }
func (f *fakeStore) ListAPITokens(context.Context) ([]store.APIToken, error) {
	return f.tokens, nil
}
func (f *fakeStore) CreateAPIToken(_ context.Context, t store.APIToken) (store.APIToken, error) {
	if f.createErr != nil {
		return store.APIToken{}, f.createErr
	}
	f.tokens = append(f.tokens, t)
	return t, nil
}
func (f *fakeStore) GetAPITokenByDigest(_ context.Context, d []byte) (store.APIToken, error) {
	for _, t := range f.tokens {
		if bytes.Equal(t.Digest, d) {
			return t, nil
		}
	}
	return store.APIToken{}, store.ErrNotFound
}
func (f *fakeStore) RevokeAPIToken(context.Context, string) error { return nil }

func TestBootstrapCreatesOneTimeAdminTokenOnEmptyStore(t *testing.T) {
	t.Parallel()
	st := &fakeStore{}
	file := filepath.Join(t.TempDir(), "secrets", "bootstrap-token")
	created, err := Bootstrap(context.Background(), st, file, t0, rand.Reader)
	if err != nil || !created {
		t.Fatalf("Bootstrap = %v, %v", created, err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(filepath.Dir(file))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v, want 0700", di.Mode().Perm())
	}
	raw, _ := os.ReadFile(file)
	plain := strings.TrimSpace(string(raw))
	tok, err := st.GetAPITokenByDigest(context.Background(), Digest(plain))
	if err != nil {
		t.Fatalf("token in file is not the stored one: %v", err)
	}
	if tok.Name != "bootstrap" || !HasRole(tok, "admin") || !tok.ExpiresAt.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("unexpected bootstrap token %+v", tok)
	}

	// Second start: tokens exist, nothing happens and the file is untouched.
	created, err = Bootstrap(context.Background(), st, file, t0, rand.Reader)
	if err != nil || created {
		t.Fatalf("second Bootstrap = %v, %v", created, err)
	}
	if len(st.tokens) != 1 {
		t.Fatalf("%d tokens, want 1", len(st.tokens))
	}
}

func TestBootstrapDoesNothingWhenUsersExist(t *testing.T) {
	t.Parallel()
	st := &fakeStore{users: []store.User{{ID: "u1", UserName: "alice"}}}
	file := filepath.Join(t.TempDir(), "tok")
	created, err := Bootstrap(context.Background(), st, file, t0, rand.Reader)
	if err != nil || created {
		t.Fatalf("Bootstrap = %v, %v", created, err)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("token file written: %v", err)
	}
}

func TestBootstrapRefusesToOverwriteExistingFile(t *testing.T) {
	t.Parallel()
	st := &fakeStore{}
	file := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(file, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	created, err := Bootstrap(context.Background(), st, file, t0, rand.Reader)
	if err == nil || created || !strings.Contains(err.Error(), file) {
		t.Fatalf("Bootstrap = %v, %v; want error naming the file", created, err)
	}
	if len(st.tokens) != 0 {
		t.Fatal("token stored although its file could not be written")
	}
	if raw, _ := os.ReadFile(file); string(raw) != "old" {
		t.Fatal("existing file overwritten")
	}
}

func TestBootstrapRemovesFileWhenStoreFails(t *testing.T) {
	t.Parallel()
	st := &fakeStore{createErr: errors.New("disk full")}
	file := filepath.Join(t.TempDir(), "tok")
	if _, err := Bootstrap(context.Background(), st, file, t0, rand.Reader); err == nil {
		t.Fatal("store failure not reported")
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("orphan token file left: %v", err)
	}
}
