package storetest

import (
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

func testSessionFieldsRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	in := session(t, "u1", n.Add(time.Hour))
	in.MFAAt = n.Add(-time.Minute)
	in.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
	in.SourceIP = "2001:db8::7"
	in.ACR = "urn:portcullis:acr:mfa"
	in.AMR = []string{"pwd", "otp", "mfa"}
	noErr(t, "create", s.CreateSession(ctx, in))
	got := ok[store.Session](t, "get")(s.GetSession(ctx, in.ID))
	checkSession(t, "get", got, in)
	list := ok[[]store.Session](t, "list")(s.ListUserSessions(ctx, "u1", n))
	if len(list) != 1 {
		t.Fatalf("list = %d sessions, want 1", len(list))
	}
	checkSession(t, "list", list[0], in)

	// A session without a second factor keeps a zero MFAAt.
	plain := session(t, "u2", n.Add(time.Hour))
	noErr(t, "create plain", s.CreateSession(ctx, plain))
	if got := ok[store.Session](t, "get plain")(s.GetSession(ctx, plain.ID)); !got.MFAAt.IsZero() || got.UserAgent != "" || got.SourceIP != "" {
		t.Errorf("plain session = %+v, want no MFAAt, user agent or source IP", got)
	}
}

// checkSession compares every field a caller sets.
func checkSession(t *testing.T, what string, got, want store.Session) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.UserAgent != want.UserAgent || got.SourceIP != want.SourceIP ||
		got.ACR != want.ACR || !equalStrings(got.AMR, want.AMR) || got.Revoked != want.Revoked {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
	sameTime(t, what+" AuthTime", got.AuthTime, want.AuthTime)
	sameTime(t, what+" MFAAt", got.MFAAt, want.MFAAt)
	sameTime(t, what+" CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, what+" ExpiresAt", got.ExpiresAt, want.ExpiresAt)
}

func testListUserSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	// Created out of order; newest means the latest sign-in (AuthTime, and CreatedAt
	// alike here so that either reading of "newest" gives the same order).
	mk := func(user string, age, expiresIn time.Duration) store.Session {
		ss := session(t, user, n.Add(expiresIn))
		ss.AuthTime, ss.CreatedAt = n.Add(-age), n.Add(-age)
		noErr(t, "create", s.CreateSession(ctx, ss))
		return ss
	}
	middle := mk("u1", 2*time.Hour, time.Hour)
	newest := mk("u1", time.Minute, 2*time.Hour)
	oldest := mk("u1", 5*time.Hour, 3*time.Hour)
	soon := mk("u1", 3*time.Hour, 30*time.Minute) // live at n, expired an hour later
	expired := mk("u1", 4*time.Hour, -time.Minute)
	revoked := mk("u1", 30*time.Second, time.Hour)
	noErr(t, "revoke", s.RevokeSession(ctx, revoked.ID))
	mk("u10", 0, time.Hour) // a user id with u1 as a prefix
	theirs := mk("u2", 0, time.Hour)

	ids := func(l []store.Session) []string {
		out := make([]string, len(l))
		for i, x := range l {
			out[i] = x.ID
		}
		return out
	}
	tests := []struct {
		name string
		user string
		at   time.Time
		want []string
	}{
		{"live newest first", "u1", n, []string{newest.ID, middle.ID, soon.ID, oldest.ID}},
		{"expiry judged at the given time", "u1", n.Add(time.Hour), []string{newest.ID, oldest.ID}},
		{"before the expired one ended", "u1", n.Add(-2 * time.Minute), []string{newest.ID, middle.ID, soon.ID, expired.ID, oldest.ID}},
		{"other user", "u2", n, []string{theirs.ID}},
		{"unknown user", "nobody", n, nil},
		{"empty user id", "", n, nil},
	}
	for _, tc := range tests {
		got := ok[[]store.Session](t, "list "+tc.name)(s.ListUserSessions(ctx, tc.user, tc.at))
		if !equalStrings(ids(got), tc.want) {
			t.Errorf("%s: ListUserSessions(%q) = %v, want %v", tc.name, tc.user, ids(got), tc.want)
		}
		for _, x := range got {
			if x.UserID != tc.user {
				t.Errorf("%s: listed a session of %q", tc.name, x.UserID)
			}
		}
	}
}

func testUpdateSession(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	orig := session(t, "u1", n.Add(time.Hour))
	orig.UserAgent, orig.SourceIP = "curl/8.5.0", "192.0.2.10"
	noErr(t, "create", s.CreateSession(ctx, orig))

	// Step-up: the second factor's time, AMR and ACR change; nothing else may, whatever
	// the caller passes.
	up := orig
	up.MFAAt = n.Add(time.Second)
	up.AMR = []string{"pwd", "otp", "mfa"}
	up.ACR = "urn:portcullis:acr:mfa"
	up.AuthTime = n.Add(time.Minute)
	up.ExpiresAt = n.Add(100 * time.Hour)
	up.CreatedAt = n.Add(time.Minute)
	up.UserAgent, up.SourceIP = "evil/1.0", "203.0.113.66"
	noErr(t, "update", s.UpdateSession(ctx, up))
	want := orig
	want.MFAAt, want.AMR, want.ACR = up.MFAAt, up.AMR, up.ACR
	checkSession(t, "after update", ok[store.Session](t, "get")(s.GetSession(ctx, orig.ID)), want)

	// Clearing is an update too (a reset second factor no longer counts).
	cleared := want
	cleared.MFAAt, cleared.AMR, cleared.ACR = time.Time{}, []string{"pwd"}, ""
	noErr(t, "clear", s.UpdateSession(ctx, cleared))
	checkSession(t, "after clear", ok[store.Session](t, "get")(s.GetSession(ctx, orig.ID)), cleared)

	// The session cannot be moved to another user: it is not found under that owner.
	moved := want
	moved.UserID = "u2"
	wantErr(t, "update with another user", s.UpdateSession(ctx, moved), store.ErrNotFound)
	got := ok[store.Session](t, "get after refused move")(s.GetSession(ctx, orig.ID))
	checkSession(t, "after refused move", got, cleared)
	if l := ok[[]store.Session](t, "list u2")(s.ListUserSessions(ctx, "u2", n)); len(l) != 0 {
		t.Errorf("u2 has sessions after a refused move: %+v", l)
	}

	unknown := session(t, "u1", n.Add(time.Hour))
	unknown.MFAAt = n
	wantErr(t, "update unknown", s.UpdateSession(ctx, unknown), store.ErrNotFound)
	if _, err := s.GetSession(ctx, unknown.ID); err == nil {
		t.Error("UpdateSession of an unknown id created it")
	}

	noErr(t, "revoke", s.RevokeSession(ctx, orig.ID))
	wantErr(t, "update revoked", s.UpdateSession(ctx, want), store.ErrNotFound)
	if got := ok[store.Session](t, "get revoked")(s.GetSession(ctx, orig.ID)); !got.Revoked || !got.MFAAt.IsZero() {
		t.Errorf("revoked session after refused update = %+v, want revoked and unchanged", got)
	}
}

func testUserLastLoginAt(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "last-login")
	if !u.LastLoginAt.IsZero() {
		t.Errorf("new user LastLoginAt = %s, want zero", u.LastLoginAt)
	}
	at := now().Add(-time.Hour)
	u.LastLoginAt = at
	upd := ok[store.User](t, "update")(s.UpdateUser(ctx, u))
	sameTime(t, "update LastLoginAt", upd.LastLoginAt, at)
	sameTime(t, "get LastLoginAt", ok[store.User](t, "get")(s.GetUser(ctx, u.ID)).LastLoginAt, at)
	sameTime(t, "get by name LastLoginAt", ok[store.User](t, "get by name")(s.GetUserByName(ctx, "LAST-LOGIN")).LastLoginAt, at)
	list := ok[[]store.User](t, "list")(s.ListUsers(ctx))
	if len(list) != 1 {
		t.Fatalf("list = %d users", len(list))
	}
	sameTime(t, "list LastLoginAt", list[0].LastLoginAt, at)

	created := ok[store.User](t, "create with LastLoginAt")(s.CreateUser(ctx, store.User{UserName: "imported", LastLoginAt: at}))
	sameTime(t, "create LastLoginAt", ok[store.User](t, "get")(s.GetUser(ctx, created.ID)).LastLoginAt, at)
}

func testClientRequireMFA(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := ok[store.Client](t, "create")(s.CreateClient(ctx, store.Client{ID: "mfa-app", RequireMFA: true}))
	if got := ok[store.Client](t, "get")(s.GetClient(ctx, c.ID)); !got.RequireMFA {
		t.Error("RequireMFA lost on create")
	}
	plain := ok[store.Client](t, "create plain")(s.CreateClient(ctx, store.Client{ID: "plain-app"}))
	if got := ok[store.Client](t, "get plain")(s.GetClient(ctx, plain.ID)); got.RequireMFA {
		t.Error("RequireMFA set on a client created without it")
	}
	c.RequireMFA = false
	ok[store.Client](t, "update")(s.UpdateClient(ctx, c))
	if got := ok[store.Client](t, "get after update")(s.GetClient(ctx, c.ID)); got.RequireMFA {
		t.Error("RequireMFA not cleared by update")
	}
	plain.RequireMFA = true
	ok[store.Client](t, "update plain")(s.UpdateClient(ctx, plain))
	for _, got := range ok[[]store.Client](t, "list")(s.ListClients(ctx)) {
		if got.RequireMFA != (got.ID == "plain-app") {
			t.Errorf("list: client %s RequireMFA = %v", got.ID, got.RequireMFA)
		}
	}
}
