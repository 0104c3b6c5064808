package storetest

import (
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

func userTests() []test {
	return []test{
		{"CRUD", testUserCRUD},
		{"DuplicateIDOrNameIsAlreadyExists", testUserUniqueness},
		{"GetByNameIgnoresCase", testUserByName},
		{"RenameFreesOldName", testUserRename},
		{"StaleVersionIsConflict", testUserStaleVersion},
		{"DeleteCascades", testDeleteUserCascade},
		{"LastLoginAtRoundTrips", testUserLastLoginAt},
	}
}

func testUserCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	before := now().Add(-time.Second)
	in := store.User{
		UserName:    "alice",
		DisplayName: "Alice",
		Emails:      []string{"alice@example.com"},
		Active:      true,
		Source:      "local",
		Roles:       []string{"admin"},
		Attributes:  map[string]string{"dept": "eng"},
	}
	u := ok[store.User](t, "create")(s.CreateUser(ctx, in))
	if u.ID == "" {
		t.Fatal("create: empty ID not filled")
	}
	if u.Version != 1 {
		t.Errorf("create: Version = %d, want 1", u.Version)
	}
	if u.CreatedAt.Before(before) || !u.UpdatedAt.Equal(u.CreatedAt) {
		t.Errorf("create: CreatedAt %s UpdatedAt %s, want both now", u.CreatedAt, u.UpdatedAt)
	}

	got := ok[store.User](t, "get")(s.GetUser(ctx, u.ID))
	if got.UserName != "alice" || got.DisplayName != "Alice" || !got.Active || got.Source != "local" ||
		!equalStrings(got.Emails, in.Emails) || !equalStrings(got.Roles, in.Roles) ||
		got.Attributes["dept"] != "eng" || got.Version != 1 {
		t.Errorf("get = %+v, want the created user", got)
	}
	sameTime(t, "get CreatedAt", got.CreatedAt, u.CreatedAt)

	list := ok[[]store.User](t, "list")(s.ListUsers(ctx))
	if len(list) != 1 || list[0].ID != u.ID {
		t.Errorf("list = %+v, want just %s", list, u.ID)
	}

	got.DisplayName = "Alice A."
	got.Active = false
	upd := ok[store.User](t, "update")(s.UpdateUser(ctx, got))
	if upd.Version != 2 {
		t.Errorf("update: Version = %d, want 2", upd.Version)
	}
	sameTime(t, "update CreatedAt", upd.CreatedAt, u.CreatedAt)
	if !upd.UpdatedAt.After(u.UpdatedAt) {
		t.Errorf("update: UpdatedAt %s did not move past %s", upd.UpdatedAt, u.UpdatedAt)
	}
	got = ok[store.User](t, "get after update")(s.GetUser(ctx, u.ID))
	if got.DisplayName != "Alice A." || got.Active || got.Version != 2 {
		t.Errorf("get after update = %+v", got)
	}

	noErr(t, "delete", s.DeleteUser(ctx, u.ID))
	_, err := s.GetUser(ctx, u.ID)
	wantErr(t, "get deleted", err, store.ErrNotFound)
	_, err = s.GetUserByName(ctx, "alice")
	wantErr(t, "get deleted by name", err, store.ErrNotFound)
	wantErr(t, "delete again", s.DeleteUser(ctx, u.ID), store.ErrNotFound)
	_, err = s.UpdateUser(ctx, got)
	wantErr(t, "update deleted", err, store.ErrNotFound)
	_, err = s.GetUser(ctx, "no-such-user")
	wantErr(t, "get unknown", err, store.ErrNotFound)
	if list := ok[[]store.User](t, "list after delete")(s.ListUsers(ctx)); len(list) != 0 {
		t.Errorf("list after delete = %d users, want 0", len(list))
	}
}

func testUserUniqueness(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := ok[store.User](t, "create")(s.CreateUser(ctx, store.User{ID: "user-a", UserName: "Bob"}))
	for _, tc := range []struct {
		name string
		u    store.User
	}{
		{"same id", store.User{ID: "user-a", UserName: "someone-else"}},
		{"same name", store.User{UserName: "Bob"}},
		{"name differing in case", store.User{UserName: "bOB"}},
	} {
		_, err := s.CreateUser(ctx, tc.u)
		wantErr(t, "create with "+tc.name, err, store.ErrAlreadyExists)
	}
	c := mkUser(t, s, "carol")
	c.UserName = "BOB"
	_, err := s.UpdateUser(ctx, c)
	wantErr(t, "rename to a taken name", err, store.ErrAlreadyExists)
	if got := ok[store.User](t, "get after refused rename")(s.GetUser(ctx, c.ID)); got.UserName != "carol" || got.Version != 1 {
		t.Errorf("refused rename changed the user: %+v", got)
	}
	if got := ok[store.User](t, "get bob")(s.GetUserByName(ctx, "bob")); got.ID != a.ID {
		t.Errorf("bob resolves to %s, want %s", got.ID, a.ID)
	}
	if n := len(ok[[]store.User](t, "list")(s.ListUsers(ctx))); n != 2 {
		t.Errorf("list = %d users, want 2", n)
	}
}

func testUserByName(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "Alice.Smith@Example.COM")
	for _, name := range []string{"Alice.Smith@Example.COM", "alice.smith@example.com", "ALICE.SMITH@EXAMPLE.COM"} {
		got, err := s.GetUserByName(ctx, name)
		if err != nil || got.ID != u.ID {
			t.Errorf("GetUserByName(%q) = %s, %v; want %s", name, got.ID, err, u.ID)
		}
		if got.UserName != "Alice.Smith@Example.COM" {
			t.Errorf("GetUserByName(%q).UserName = %q, want the stored spelling", name, got.UserName)
		}
	}
	for _, name := range []string{"alice", "", "alice.smith@example.co"} {
		_, err := s.GetUserByName(ctx, name)
		wantErr(t, "GetUserByName("+name+")", err, store.ErrNotFound)
	}
}

func testUserRename(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "old-name")
	u.UserName = "new-name"
	u = ok[store.User](t, "rename")(s.UpdateUser(ctx, u))
	_, err := s.GetUserByName(ctx, "old-name")
	wantErr(t, "old name after rename", err, store.ErrNotFound)
	if got := ok[store.User](t, "new name")(s.GetUserByName(ctx, "NEW-name")); got.ID != u.ID {
		t.Errorf("new name resolves to %s, want %s", got.ID, u.ID)
	}
	other := mkUser(t, s, "old-name")
	if got := ok[store.User](t, "reused old name")(s.GetUserByName(ctx, "old-name")); got.ID != other.ID {
		t.Errorf("old name resolves to %s, want the new owner %s", got.ID, other.ID)
	}
	// A change of case only is a rename to the same key.
	u.UserName = "New-Name"
	u = ok[store.User](t, "rename case only")(s.UpdateUser(ctx, u))
	if got := ok[store.User](t, "get after case rename")(s.GetUserByName(ctx, "new-name")); got.UserName != "New-Name" || got.ID != u.ID {
		t.Errorf("after case rename got %+v", got)
	}
}

func testUserStaleVersion(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "dave")
	first := u
	first.DisplayName = "first"
	ok[store.User](t, "first update")(s.UpdateUser(ctx, first))

	stale := u
	stale.DisplayName = "stale"
	_, err := s.UpdateUser(ctx, stale)
	wantErr(t, "update with stale version", err, store.ErrConflict)
	future := u
	future.Version = 7
	_, err = s.UpdateUser(ctx, future)
	wantErr(t, "update with future version", err, store.ErrConflict)

	got := ok[store.User](t, "get")(s.GetUser(ctx, u.ID))
	if got.DisplayName != "first" || got.Version != 2 {
		t.Errorf("after conflicts got %q v%d, want \"first\" v2", got.DisplayName, got.Version)
	}
}

func testDeleteUserCascade(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "erin")
	keep := mkUser(t, s, "frank")
	g1 := mkGroup(t, s, "g1", u.ID, keep.ID)
	g2 := mkGroup(t, s, "g2", u.ID)
	for _, c := range []store.Credential{
		{UserID: u.ID, Type: store.CredentialPassword, ID: "password", Secret: []byte("$argon2id$x")},
		{UserID: u.ID, Type: store.CredentialTOTP, ID: "totp-1", Secret: []byte("sealed")},
		{UserID: keep.ID, Type: store.CredentialPassword, ID: "password", Secret: []byte("$argon2id$y")},
	} {
		ok[store.Credential](t, "put credential")(s.PutCredential(ctx, c))
	}
	future := now().Add(time.Hour)
	sess, keepSess := session(t, u.ID, future), session(t, keep.ID, future)
	noErr(t, "create session", s.CreateSession(ctx, sess))
	noErr(t, "create session", s.CreateSession(ctx, keepSess))
	rt, keepRT := refreshToken(t, u.ID, "fam-erin", future), refreshToken(t, keep.ID, "fam-frank", future)
	noErr(t, "create refresh token", s.CreateRefreshToken(ctx, rt))
	noErr(t, "create refresh token", s.CreateRefreshToken(ctx, keepRT))

	noErr(t, "delete user", s.DeleteUser(ctx, u.ID))

	if creds := ok[[]store.Credential](t, "list credentials")(s.ListCredentials(ctx, u.ID)); len(creds) != 0 {
		t.Errorf("credentials left after delete: %+v", creds)
	}
	_, err := s.GetCredential(ctx, u.ID, store.CredentialPassword, "password")
	wantErr(t, "get credential of deleted user", err, store.ErrNotFound)
	ok[store.Credential](t, "other user's credential")(s.GetCredential(ctx, keep.ID, store.CredentialPassword, "password"))

	got1 := ok[store.Group](t, "get g1")(s.GetGroup(ctx, g1.ID))
	if !equalStrings(got1.Members, []string{keep.ID}) || got1.Version != g1.Version+1 {
		t.Errorf("g1 after delete: members %v v%d, want [%s] v%d", got1.Members, got1.Version, keep.ID, g1.Version+1)
	}
	got2 := ok[store.Group](t, "get g2")(s.GetGroup(ctx, g2.ID))
	if len(got2.Members) != 0 || got2.Version != g2.Version+1 {
		t.Errorf("g2 after delete: members %v v%d, want none v%d", got2.Members, got2.Version, g2.Version+1)
	}
	if gs := ok[[]store.Group](t, "groups of deleted user")(s.GroupsOfUser(ctx, u.ID)); len(gs) != 0 {
		t.Errorf("deleted user still in %d groups", len(gs))
	}

	if got, err := s.GetSession(ctx, sess.ID); err == nil && !got.Revoked {
		t.Error("session of deleted user is neither revoked nor gone")
	} else if err != nil {
		wantErr(t, "get session", err, store.ErrNotFound)
	}
	if got, err := s.GetRefreshToken(ctx, rt.ID); err == nil && !got.Revoked {
		t.Error("refresh token of deleted user is neither revoked nor gone")
	} else if err != nil {
		wantErr(t, "get refresh token", err, store.ErrNotFound)
	}
	if got := ok[store.Session](t, "other session")(s.GetSession(ctx, keepSess.ID)); got.Revoked {
		t.Error("another user's session was revoked")
	}
	if got := ok[store.RefreshToken](t, "other refresh token")(s.GetRefreshToken(ctx, keepRT.ID)); got.Revoked {
		t.Error("another user's refresh token was revoked")
	}
	// The name is free again.
	mkUser(t, s, "ERIN")
}
