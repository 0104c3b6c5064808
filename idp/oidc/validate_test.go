package oidc_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	poidc "github.com/portcullis-id/portcullis/idp/oidc"
	"github.com/portcullis-id/portcullis/store"
)

func TestNewClientSecret(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	plain, s, err := poidc.NewClientSecret(nil, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(plain) < 43 { // 256 bits in base64url
		t.Errorf("secret %q too short", plain)
	}
	sum := sha256.Sum256([]byte(plain))
	if !bytes.Equal(s.Digest, sum[:]) || s.ID == "" || !s.CreatedAt.Equal(now) || !s.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Errorf("stored secret %+v", s)
	}
	plain2, _, _ := poidc.NewClientSecret(nil, now, time.Time{})
	if plain2 == plain {
		t.Error("two secrets alike")
	}
	if _, _, err := poidc.NewClientSecret(nil, now, now.Add(-time.Second)); err == nil {
		t.Error("expiry in the past accepted")
	}
	if _, _, err := poidc.NewClientSecret(bytes.NewReader(nil), now, time.Time{}); err == nil {
		t.Error("empty random source accepted")
	}
}

func TestValidateClient(t *testing.T) {
	t.Parallel()
	good := func() store.Client {
		return store.Client{ID: "app", RedirectURIs: []string{"https://app.example/cb"},
			GrantTypes: []string{"authorization_code", "refresh_token"}}
	}
	digest := sha256.Sum256([]byte("x"))
	tests := []struct {
		name  string
		edit  func(*store.Client)
		paths []string // field paths expected in the error; none means valid
	}{
		{"valid", func(*store.Client) {}, nil},
		{"loopback http", func(c *store.Client) {
			c.RedirectURIs = []string{"http://127.0.0.1:8080/cb", "http://[::1]/cb", "http://localhost/cb"}
		}, nil},
		{"native private-use scheme", func(c *store.Client) {
			c.Public, c.Native, c.RedirectURIs = true, true, []string{"com.example.app:/cb"}
		}, nil},
		{"empty id", func(c *store.Client) { c.ID = "" }, []string{"id"}},
		{"colon in id", func(c *store.Client) { c.ID = "a:b" }, []string{"id"}},
		{"space in id", func(c *store.Client) { c.ID = "a b" }, []string{"id"}},
		{"relative redirect", func(c *store.Client) { c.RedirectURIs = []string{"/cb"} }, []string{"redirect_uris[0]"}},
		{"fragment", func(c *store.Client) { c.RedirectURIs = []string{"https://a.example/cb#x"} }, []string{"redirect_uris[0]"}},
		{"http on a public host", func(c *store.Client) { c.RedirectURIs = []string{"https://ok.example/", "http://a.example/cb"} }, []string{"redirect_uris[1]"}},
		{"private-use scheme on a web client", func(c *store.Client) { c.RedirectURIs = []string{"com.example.app:/cb"} }, []string{"redirect_uris[0]"}},
		{"user info", func(c *store.Client) { c.RedirectURIs = []string{"https://u:p@a.example/cb"} }, []string{"redirect_uris[0]"}},
		{"bad post logout uri", func(c *store.Client) { c.PostLogoutRedirectURIs = []string{"http://a.example/"} }, []string{"post_logout_redirect_uris[0]"}},
		{"unknown grant", func(c *store.Client) { c.GrantTypes = []string{"password"} }, []string{"grant_types[0]"}},
		{"no grant", func(c *store.Client) { c.GrantTypes = nil }, []string{"grant_types"}},
		{"code without redirect", func(c *store.Client) { c.RedirectURIs = nil }, []string{"redirect_uris"}},
		{"public client_credentials", func(c *store.Client) {
			c.Public, c.GrantTypes = true, []string{"client_credentials"}
		}, []string{"grant_types"}},
		{"public with secret", func(c *store.Client) {
			c.Public, c.Secrets = true, []store.ClientSecret{{ID: "s", Digest: digest[:]}}
		}, []string{"secrets"}},
		{"confidential native", func(c *store.Client) { c.Native = true }, []string{"native"}},
		{"three secrets", func(c *store.Client) {
			c.Secrets = []store.ClientSecret{{ID: "1", Digest: digest[:]}, {ID: "2", Digest: digest[:]}, {ID: "3", Digest: digest[:]}}
		}, []string{"secrets"}},
		{"short digest", func(c *store.Client) { c.Secrets = []store.ClientSecret{{ID: "1", Digest: []byte("x")}} }, []string{"secrets[0]"}},
		{"token format", func(c *store.Client) { c.AccessTokenFormat = "paseto" }, []string{"access_token_format"}},
		{"lifetimes", func(c *store.Client) {
			c.AccessTokenLifetime, c.IDTokenLifetime, c.RefreshTokenLifetime = time.Second, 48*time.Hour, 400*24*time.Hour
		}, []string{"access_token_lifetime", "id_token_lifetime", "refresh_token_lifetime"}},
		{"scope token", func(c *store.Client) { c.Scopes = []string{"a b"} }, []string{"scopes[0]"}},
		{"several at once", func(c *store.Client) { c.ID, c.GrantTypes = "", []string{"x"} }, []string{"id", "grant_types[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := good()
			tt.edit(&c)
			err := poidc.ValidateClient(c)
			if len(tt.paths) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %v", tt.paths)
			}
			for _, p := range tt.paths {
				if !strings.Contains(err.Error(), p+": ") {
					t.Errorf("error %q does not name %s", err, p)
				}
			}
			var fe *poidc.FieldError
			if !errors.As(err, &fe) || fe.Error() != fe.Path+": "+fe.Msg {
				t.Errorf("not a FieldError: %v", err)
			}
		})
	}
}

func TestNewRefusesUnsafeConfig(t *testing.T) {
	t.Parallel()
	valid := poidc.Config{
		Issuer: "https://id.example", CryptoKey: [32]byte{1}, AccessTokenLifetime: time.Minute,
		IDTokenLifetime: time.Minute, RefreshTokenLifetime: time.Hour, RefreshAbsoluteLifetime: time.Hour,
		AuthCodeLifetime: time.Minute, AuthRequestLifetime: time.Minute, LoginPath: "/login", LoggedOutPath: "/bye",
	}
	tests := []struct {
		name string
		edit func(*poidc.Config)
		want string
	}{
		{"zero crypto key", func(c *poidc.Config) { c.CryptoKey = [32]byte{} }, "crypto_key"},
		{"http issuer", func(c *poidc.Config) { c.Issuer = "http://id.example" }, "issuer"},
		{"relative issuer", func(c *poidc.Config) { c.Issuer = "/id" }, "issuer"},
		{"long code lifetime", func(c *poidc.Config) { c.AuthCodeLifetime = time.Hour }, "auth_code_lifetime"},
		{"no access token lifetime", func(c *poidc.Config) { c.AccessTokenLifetime = 0 }, "access_token_lifetime"},
		{"login path", func(c *poidc.Config) { c.LoginPath = "login" }, "login_path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid
			tt.edit(&c)
			// Deps are checked after the config, so empty Deps suffice here.
			_, err := poidc.New(context.Background(), c, poidc.Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want one naming %s", err, tt.want)
			}
		})
	}
	if _, err := poidc.New(context.Background(), valid, poidc.Deps{}); err == nil || !strings.Contains(err.Error(), "required") {
		t.Fatalf("missing deps: %v", err)
	}
}

func TestValidateClientReservesTheRoleSessionClientID(t *testing.T) {
	t.Parallel()
	err := poidc.ValidateClient(store.Client{ID: "sts", RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"authorization_code"}})
	if err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Fatalf("client id sts accepted: %v", err)
	}
}
