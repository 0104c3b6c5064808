package storetest

import (
	"testing"

	"github.com/portcullis-id/portcullis/store"
)

func copyTests() []test {
	return []test{{"ReturnedValuesAreCopies", testCopies}}
}

func testCopies(t *testing.T, s store.Store) {
	ctx := t.Context()
	emails := []string{"a@example.com"}
	attrs := map[string]string{"k": "v"}
	u := ok[store.User](t, "create")(s.CreateUser(ctx, store.User{UserName: "copy", Emails: emails, Attributes: attrs}))
	// The caller's own values, the returned ones and the stored ones are independent.
	emails[0], attrs["k"] = "changed@example.com", "changed"
	u.Emails[0], u.Attributes["k"] = "changed2@example.com", "changed2"

	got := ok[store.User](t, "get")(s.GetUser(ctx, u.ID))
	if got.Emails[0] != "a@example.com" || got.Attributes["k"] != "v" {
		t.Fatalf("stored user changed through a slice or map: %+v", got)
	}
	got.Emails[0], got.Attributes["k"] = "x", "x"
	list := ok[[]store.User](t, "list")(s.ListUsers(ctx))
	list[0].Emails[0] = "y"
	if again := ok[store.User](t, "get again")(s.GetUser(ctx, u.ID)); again.Emails[0] != "a@example.com" || again.Attributes["k"] != "v" {
		t.Errorf("stored user changed through a returned value: %+v", again)
	}

	m := mkUser(t, s, "member")
	g := mkGroup(t, s, "g", m.ID)
	g.Members[0] = "bogus"
	gg := ok[store.Group](t, "get group")(s.GetGroup(ctx, g.ID))
	gg.Members[0] = "bogus"
	if again := ok[store.Group](t, "get group again")(s.GetGroup(ctx, g.ID)); again.Members[0] != m.ID {
		t.Errorf("stored members changed through a returned slice: %v", again.Members)
	}

	secret := []byte("secret")
	c := ok[store.Credential](t, "put")(s.PutCredential(ctx, store.Credential{UserID: m.ID, Type: store.CredentialPassword, Secret: secret}))
	secret[0], c.Secret[1] = 'X', 'Y'
	if again := ok[store.Credential](t, "get credential")(s.GetCredential(ctx, m.ID, store.CredentialPassword, "password")); string(again.Secret) != "secret" {
		t.Errorf("stored secret changed through a caller's slice: %q", again.Secret)
	}
}
