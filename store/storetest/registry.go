package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

func credentialTests() []test {
	return []test{
		{"PutGetListDelete", testCredentials},
		{"VersionChecked", testCredentialVersion},
	}
}

func testCredentials(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Two users whose ids share a prefix: listing one must not show the other's.
	u := ok[store.User](t, "create")(s.CreateUser(ctx, store.User{ID: "cred-user", UserName: "u"}))
	v := ok[store.User](t, "create")(s.CreateUser(ctx, store.User{ID: "cred-user0", UserName: "v"}))

	_, err := s.PutCredential(ctx, store.Credential{UserID: "no-such-user", Type: store.CredentialPassword, ID: "password"})
	wantErr(t, "put for unknown user", err, store.ErrNotFound)

	pw := ok[store.Credential](t, "put password")(s.PutCredential(ctx, store.Credential{
		UserID: u.ID, Type: store.CredentialPassword, ID: "password", Secret: []byte("$argon2id$v=19$..."), MustChange: true,
	}))
	if pw.Version != 1 || pw.CreatedAt.IsZero() {
		t.Errorf("put = v%d created %s, want v1 and a time", pw.Version, pw.CreatedAt)
	}
	ok[store.Credential](t, "put webauthn")(s.PutCredential(ctx, store.Credential{
		UserID: u.ID, Type: store.CredentialWebAuthn, ID: "cred-abc", Secret: []byte{1, 2, 3}, Data: map[string]string{"aaguid": "x"},
	}))
	ok[store.Credential](t, "put other user's")(s.PutCredential(ctx, store.Credential{
		UserID: v.ID, Type: store.CredentialPassword, ID: "password", Secret: []byte("other"),
	}))

	got := ok[store.Credential](t, "get")(s.GetCredential(ctx, u.ID, store.CredentialPassword, "password"))
	if !bytes.Equal(got.Secret, []byte("$argon2id$v=19$...")) || !got.MustChange {
		t.Errorf("get = %+v", got)
	}
	list := ok[[]store.Credential](t, "list")(s.ListCredentials(ctx, u.ID))
	if len(list) != 2 {
		t.Fatalf("list = %d credentials, want 2: %+v", len(list), list)
	}
	for _, c := range list {
		if c.UserID != u.ID {
			t.Errorf("list for %s returned a credential of %s", u.ID, c.UserID)
		}
	}
	_, err = s.GetCredential(ctx, u.ID, store.CredentialTOTP, "password")
	wantErr(t, "get wrong type", err, store.ErrNotFound)

	noErr(t, "delete", s.DeleteCredential(ctx, u.ID, store.CredentialWebAuthn, "cred-abc"))
	_, err = s.GetCredential(ctx, u.ID, store.CredentialWebAuthn, "cred-abc")
	wantErr(t, "get deleted", err, store.ErrNotFound)
	wantErr(t, "delete again", s.DeleteCredential(ctx, u.ID, store.CredentialWebAuthn, "cred-abc"), store.ErrNotFound)
	if list := ok[[]store.Credential](t, "list")(s.ListCredentials(ctx, v.ID)); len(list) != 1 {
		t.Errorf("other user's credentials = %d, want 1", len(list))
	}
}

func testCredentialVersion(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "u")
	c := ok[store.Credential](t, "put")(s.PutCredential(ctx, store.Credential{
		UserID: u.ID, Type: store.CredentialTOTP, ID: "totp", Secret: []byte("s1"), Data: map[string]string{"last_step": "1"},
	}))
	// Version 0 replaces unconditionally.
	blind := ok[store.Credential](t, "replace blind")(s.PutCredential(ctx, store.Credential{
		UserID: u.ID, Type: store.CredentialTOTP, ID: "totp", Secret: []byte("s2"),
	}))
	if blind.Version != 2 {
		t.Errorf("blind replace Version = %d, want 2", blind.Version)
	}
	sameTime(t, "replace keeps CreatedAt", blind.CreatedAt, c.CreatedAt)
	c.Data = map[string]string{"last_step": "2"}
	_, err := s.PutCredential(ctx, c)
	wantErr(t, "replace with stale version", err, store.ErrConflict)
	blind.Data = map[string]string{"last_step": "3"}
	upd := ok[store.Credential](t, "replace with current version")(s.PutCredential(ctx, blind))
	if upd.Version != 3 {
		t.Errorf("Version = %d, want 3", upd.Version)
	}
	if got := ok[store.Credential](t, "get")(s.GetCredential(ctx, u.ID, store.CredentialTOTP, "totp")); got.Data["last_step"] != "3" {
		t.Errorf("stored data = %v, want last_step 3", got.Data)
	}
}

func clientTests() []test {
	return []test{
		{"CRUD", testClients},
		{"RequireMFARoundTrips", testClientRequireMFA},
	}
}

func testClients(t *testing.T, s store.Store) {
	ctx := t.Context()
	created := now()
	c := ok[store.Client](t, "create")(s.CreateClient(ctx, store.Client{
		ID:                  "web-app",
		Name:                "Web",
		Secrets:             []store.ClientSecret{{ID: "s1", Digest: []byte{0xaa, 0xbb}, CreatedAt: created}},
		RedirectURIs:        []string{"https://rp.example/cb"},
		GrantTypes:          []string{"authorization_code", "refresh_token"},
		AccessTokenFormat:   store.AccessTokenJWT,
		AccessTokenLifetime: 5 * time.Minute,
	}))
	if c.Version != 1 {
		t.Errorf("create Version = %d", c.Version)
	}
	_, err := s.CreateClient(ctx, store.Client{ID: "web-app"})
	wantErr(t, "create duplicate", err, store.ErrAlreadyExists)
	pub := ok[store.Client](t, "create with generated id")(s.CreateClient(ctx, store.Client{Public: true, Name: "CLI"}))
	if pub.ID == "" {
		t.Error("empty client id not filled")
	}

	got := ok[store.Client](t, "get")(s.GetClient(ctx, "web-app"))
	if got.Name != "Web" || len(got.Secrets) != 1 || !bytes.Equal(got.Secrets[0].Digest, []byte{0xaa, 0xbb}) ||
		!got.Secrets[0].CreatedAt.Equal(created) || got.AccessTokenLifetime != 5*time.Minute ||
		!equalStrings(got.RedirectURIs, []string{"https://rp.example/cb"}) {
		t.Errorf("get = %+v", got)
	}
	if list := ok[[]store.Client](t, "list")(s.ListClients(ctx)); len(list) != 2 {
		t.Errorf("list = %d clients, want 2", len(list))
	}

	got.RedirectURIs = append(got.RedirectURIs, "https://rp.example/cb2")
	upd := ok[store.Client](t, "update")(s.UpdateClient(ctx, got))
	if upd.Version != 2 {
		t.Errorf("update Version = %d", upd.Version)
	}
	_, err = s.UpdateClient(ctx, got)
	wantErr(t, "update stale", err, store.ErrConflict)
	_, err = s.UpdateClient(ctx, store.Client{ID: "nope", Meta: store.Meta{Version: 1}})
	wantErr(t, "update unknown", err, store.ErrNotFound)

	noErr(t, "delete", s.DeleteClient(ctx, "web-app"))
	_, err = s.GetClient(ctx, "web-app")
	wantErr(t, "get deleted", err, store.ErrNotFound)
	wantErr(t, "delete again", s.DeleteClient(ctx, "web-app"), store.ErrNotFound)
}

func signingKeyTests() []test {
	return []test{{"CRUD", testSigningKeys}}
}

func testSigningKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	k := ok[store.SigningKey](t, "create")(s.CreateSigningKey(ctx, store.SigningKey{
		ID: "kid-1", Algorithm: "ES256", Private: []byte("sealed"), Public: []byte("der"), State: store.KeyNext,
	}))
	if k.Version != 1 {
		t.Errorf("create Version = %d", k.Version)
	}
	_, err := s.CreateSigningKey(ctx, store.SigningKey{ID: "kid-1", Algorithm: "RS256"})
	wantErr(t, "create duplicate", err, store.ErrAlreadyExists)
	ok[store.SigningKey](t, "create second")(s.CreateSigningKey(ctx, store.SigningKey{ID: "kid-2", Algorithm: "RS256", State: store.KeyActive}))

	k.State, k.ActivatedAt = store.KeyActive, now()
	upd := ok[store.SigningKey](t, "activate")(s.UpdateSigningKey(ctx, k))
	if upd.Version != 2 {
		t.Errorf("update Version = %d", upd.Version)
	}
	_, err = s.UpdateSigningKey(ctx, k)
	wantErr(t, "update stale", err, store.ErrConflict)

	keys := ok[[]store.SigningKey](t, "list")(s.ListSigningKeys(ctx))
	if len(keys) != 2 {
		t.Fatalf("list = %d keys, want 2", len(keys))
	}
	for _, got := range keys {
		if got.ID == "kid-1" && (got.State != store.KeyActive || !got.ActivatedAt.Equal(k.ActivatedAt) || !bytes.Equal(got.Private, []byte("sealed"))) {
			t.Errorf("kid-1 = %+v", got)
		}
	}
	noErr(t, "delete", s.DeleteSigningKey(ctx, "kid-1"))
	wantErr(t, "delete again", s.DeleteSigningKey(ctx, "kid-1"), store.ErrNotFound)
	if keys := ok[[]store.SigningKey](t, "list")(s.ListSigningKeys(ctx)); len(keys) != 1 || keys[0].ID != "kid-2" {
		t.Errorf("after delete list = %+v", keys)
	}
}
