package api

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestClientSecretIsShownOnceAndNeverStoredInClear(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/clients", e.admin, map[string]any{
		"id": "demo", "name": "Demo", "redirect_uris": []string{"https://app.example.com/cb"},
		"grant_types": []string{"authorization_code"}, "access_token_lifetime": "10m",
	})
	expect(t, r, http.StatusCreated)
	var c Client
	r.decode(t, &c)
	if c.ClientSecret == "" || len(c.Secrets) != 1 || c.AccessTokenLifetime != "10m0s" {
		t.Fatalf("created %+v", c)
	}
	stored, err := e.st.GetClient(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte(c.ClientSecret))
	if string(stored.Secrets[0].Digest) != string(d[:]) || stored.AccessTokenLifetime != 10*time.Minute {
		t.Fatal("stored digest is not the digest of the secret shown")
	}
	for _, path := range []string{"/clients/demo", "/clients"} {
		body := string(e.do("GET", path, e.admin, nil).body)
		if strings.Contains(body, c.ClientSecret) || strings.Contains(body, "digest") || strings.Contains(body, "client_secret") {
			t.Fatalf("GET %s leaks secret material: %s", path, body)
		}
	}
	if ev := e.rec.find("admin.client.create", "success"); ev == nil || strings.Contains(ev.Reason+ev.Details["secret"], c.ClientSecret) {
		t.Fatalf("audit %+v", ev)
	}
}

func TestClientValidationAndConflicts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	expectField(t, e.do("POST", "/clients", e.admin, map[string]any{"id": "a", "redirect_uris": []string{"https://ok/cb", "relative"}}), http.StatusBadRequest, "redirect_uris[1]")
	expectField(t, e.do("POST", "/clients", e.admin, map[string]any{"id": "a b"}), http.StatusBadRequest, "id")
	expectField(t, e.do("POST", "/clients", e.admin, map[string]any{"id": "a", "id_token_lifetime": "soon"}), http.StatusBadRequest, "id_token_lifetime")
	expect(t, e.do("POST", "/clients", e.admin, map[string]any{"id": "a", "public": true, "redirect_uris": []string{"http://127.0.0.1/cb"}}), http.StatusCreated)
	expectField(t, e.do("POST", "/clients", e.admin, map[string]any{"id": "a"}), http.StatusConflict, "id")
	var c Client
	e.do("GET", "/clients/a", e.admin, nil).decode(t, &c)
	if !c.Public || len(c.Secrets) != 0 {
		t.Fatalf("public client %+v", c)
	}
	// Without an id the server picks one.
	r := e.do("POST", "/clients", e.admin, map[string]any{"name": "anon", "grant_types": []string{"client_credentials"}})
	expect(t, r, http.StatusCreated)
	r.decode(t, &c)
	if len(c.ID) != 32 {
		t.Fatalf("generated id %q", c.ID)
	}
}

func TestClientPatchAndSecretRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/clients", e.admin, map[string]any{"id": "svc", "grant_types": []string{"client_credentials"}})
	expect(t, r, http.StatusCreated)
	var c Client
	r.decode(t, &c)
	first := c.Secrets[0].ID

	expect(t, e.do("PATCH", "/clients/svc", e.admin, map[string]any{"name": "x"}, "If-Match", `"9"`), http.StatusPreconditionFailed)
	expectField(t, e.do("PATCH", "/clients/svc", e.admin, map[string]any{"redirect_uris": []string{"nope"}}), http.StatusBadRequest, "redirect_uris[0]")
	r = e.do("PATCH", "/clients/svc", e.admin, map[string]any{"name": "Service", "scopes": []string{"api"}}, "If-Match", `"1"`)
	expect(t, r, http.StatusOK)
	r.decode(t, &c)
	if c.Name != "Service" || r.header.Get("ETag") != `"2"` || c.ClientSecret != "" {
		t.Fatalf("patched %+v", c)
	}

	// Rotation: a second secret, the first one expiring in a day.
	r = e.do("POST", "/clients/svc/secrets", e.admin, map[string]any{"expire_others_in": "24h"})
	expect(t, r, http.StatusCreated)
	var sc SecretCreated
	r.decode(t, &sc)
	if sc.ClientSecret == "" || len(sc.Client.Secrets) != 2 {
		t.Fatalf("rotation %+v", sc)
	}
	for _, s := range sc.Client.Secrets {
		if s.ID == first && !s.ExpiresAt.Equal(testNow.Add(24*time.Hour)) {
			t.Fatalf("old secret expiry %v", s.ExpiresAt)
		}
		if s.ID == sc.Secret.ID && !s.ExpiresAt.IsZero() {
			t.Fatal("new secret expires")
		}
	}
	expect(t, e.do("POST", "/clients/svc/secrets", e.admin, nil), http.StatusConflict)
	expectField(t, e.do("POST", "/clients/svc/secrets", e.admin, map[string]any{"expire_others_in": "-1h"}), http.StatusBadRequest, "expire_others_in")

	expect(t, e.do("DELETE", "/clients/svc/secrets/"+first, e.admin, nil), http.StatusNoContent)
	expect(t, e.do("DELETE", "/clients/svc/secrets/"+first, e.admin, nil), http.StatusNotFound)
	e.do("GET", "/clients/svc", e.admin, nil).decode(t, &c)
	if len(c.Secrets) != 1 || c.Secrets[0].ID != sc.Secret.ID {
		t.Fatalf("secrets after delete %+v", c.Secrets)
	}
	// Turning the client public drops its secrets.
	r = e.do("PATCH", "/clients/svc", e.admin, map[string]any{"public": true})
	r.decode(t, &c)
	if !c.Public || len(c.Secrets) != 0 {
		t.Fatalf("public %+v", c)
	}
	expect(t, e.do("POST", "/clients/svc/secrets", e.admin, nil), http.StatusConflict)
	expect(t, e.do("DELETE", "/clients/svc", e.admin, nil), http.StatusNoContent)
	expect(t, e.do("GET", "/clients/svc", e.admin, nil), http.StatusNotFound)
	if e.rec.find("admin.client.secret.add", "success") == nil || e.rec.find("admin.client.secret.add", "failure") == nil {
		t.Fatal("secret changes not audited")
	}
}
