package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

// RunReopen writes one of every entity, closes the store, reopens it on the same
// directory and checks that everything is still there. open must open (creating if
// needed) a store kept in dir and close it when the test ends; it is called twice
// with the same dir.
func RunReopen(t *testing.T, open func(t *testing.T, dir string) store.Store) {
	t.Helper()
	dir := t.TempDir()
	ctx := t.Context()
	n := now()
	future := n.Add(time.Hour)

	s := open(t, dir)
	u := ok[store.User](t, "create user")(s.CreateUser(ctx, store.User{UserName: "Persisted", Emails: []string{"p@example.com"}}))
	g := ok[store.Group](t, "create group")(s.CreateGroup(ctx, store.Group{DisplayName: "Persisted", Members: []string{u.ID}}))
	ok[store.Credential](t, "put credential")(s.PutCredential(ctx, store.Credential{UserID: u.ID, Type: store.CredentialPassword, Secret: []byte("hash")}))
	ok[store.Client](t, "create client")(s.CreateClient(ctx, store.Client{ID: "persisted-client", RedirectURIs: []string{"https://rp.example/cb"}}))
	ar := ok[store.AuthRequest](t, "create auth request")(s.CreateAuthRequest(ctx, authRequest(future)))
	code := authCode(t, ar.ID, future)
	noErr(t, "save auth code", s.SaveAuthCode(ctx, code))
	rt := refreshToken(t, u.ID, "fam-persisted", future)
	noErr(t, "create refresh token", s.CreateRefreshToken(ctx, rt))
	sess := session(t, u.ID, future)
	noErr(t, "create session", s.CreateSession(ctx, sess))
	ok[store.SigningKey](t, "create signing key")(s.CreateSigningKey(ctx, store.SigningKey{ID: "kid-p", Algorithm: "ES256", Private: []byte("sealed"), State: store.KeyActive}))
	noErr(t, "revoke", s.Revoke(ctx, store.Revocation{Key: "jti-p", Until: future}))
	digest := bytes.Repeat([]byte{7}, 32)
	ok[store.APIToken](t, "create api token")(s.CreateAPIToken(ctx, store.APIToken{Name: "p", Digest: digest, Roles: []string{"admin"}}))
	ev := ok[store.AuditEvent](t, "append audit")(s.AppendAudit(ctx, store.AuditEvent{Action: "persist", Outcome: "success"}))
	noErr(t, "close", s.Close())

	s = open(t, dir)
	if got := ok[store.User](t, "user by name")(s.GetUserByName(ctx, "persisted")); got.ID != u.ID || got.Version != 1 || !equalStrings(got.Emails, []string{"p@example.com"}) {
		t.Errorf("user after reopen = %+v", got)
	}
	if got := ok[store.Group](t, "group by name")(s.GetGroupByName(ctx, "PERSISTED")); got.ID != g.ID || !equalStrings(got.Members, []string{u.ID}) {
		t.Errorf("group after reopen = %+v", got)
	}
	if gs := ok[[]store.Group](t, "groups of user")(s.GroupsOfUser(ctx, u.ID)); len(gs) != 1 {
		t.Errorf("memberships after reopen = %+v", gs)
	}
	if got := ok[store.Credential](t, "credential")(s.GetCredential(ctx, u.ID, store.CredentialPassword, "password")); string(got.Secret) != "hash" {
		t.Errorf("credential after reopen = %+v", got)
	}
	ok[store.Client](t, "client")(s.GetClient(ctx, "persisted-client"))
	ok[store.AuthRequest](t, "auth request")(s.GetAuthRequest(ctx, ar.ID))
	wantErr(t, "code index after reopen", s.SaveAuthCode(ctx, authCode(t, ar.ID, future)), store.ErrAlreadyExists)
	if got := ok[store.AuthCode](t, "consume code")(s.ConsumeAuthCode(ctx, code.Digest, n)); got.AuthRequestID != ar.ID {
		t.Errorf("code after reopen = %+v", got)
	}
	ok[store.RefreshToken](t, "refresh token")(s.GetRefreshToken(ctx, rt.ID))
	if fams := ok[[]string](t, "refresh index")(s.RevokeUserRefreshTokens(ctx, u.ID)); !equalStrings(fams, []string{"fam-persisted"}) {
		t.Errorf("refresh families after reopen = %v", fams)
	}
	ok[store.Session](t, "session")(s.GetSession(ctx, sess.ID))
	if keys := ok[[]store.SigningKey](t, "signing keys")(s.ListSigningKeys(ctx)); len(keys) != 1 || string(keys[0].Private) != "sealed" {
		t.Errorf("signing keys after reopen = %+v", keys)
	}
	if r := ok[bool](t, "is revoked")(s.IsRevoked(ctx, "jti-p")); !r {
		t.Error("revocation lost on reopen")
	}
	ok[store.APIToken](t, "api token")(s.GetAPITokenByDigest(ctx, digest))
	evs := ok[[]store.AuditEvent](t, "audit")(s.ListAudit(ctx, 0, 10))
	if len(evs) != 1 || evs[0].Seq != ev.Seq || evs[0].Action != "persist" {
		t.Errorf("audit after reopen = %+v", evs)
	}
	// The sequence continues after a restart.
	if next := ok[store.AuditEvent](t, "append after reopen")(s.AppendAudit(ctx, store.AuditEvent{Action: "again", Outcome: "success"})); next.Seq <= ev.Seq {
		t.Errorf("seq after reopen %d, not after %d", next.Seq, ev.Seq)
	}
}
