package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

func authRequestTests() []test {
	return []test{
		{"CRUD", testAuthRequests},
		{"ExpiredIsNotFound", testAuthRequestExpired},
	}
}

func testAuthRequests(t *testing.T, s store.Store) {
	ctx := t.Context()
	maxAge := 10 * time.Minute
	in := authRequest(now().Add(10 * time.Minute))
	in.MaxAge = &maxAge
	r := ok[store.AuthRequest](t, "create")(s.CreateAuthRequest(ctx, in))
	if r.ID == "" || r.Version != 1 {
		t.Fatalf("create = %+v, want an id and Version 1", r)
	}
	_, err := s.CreateAuthRequest(ctx, store.AuthRequest{ID: r.ID, ExpiresAt: in.ExpiresAt})
	wantErr(t, "create duplicate", err, store.ErrAlreadyExists)

	got := ok[store.AuthRequest](t, "get")(s.GetAuthRequest(ctx, r.ID))
	if got.ClientID != "client-1" || got.CodeChallengeMethod != "S256" || got.MaxAge == nil || *got.MaxAge != maxAge ||
		!equalStrings(got.Scopes, in.Scopes) || got.Done || !got.ExpiresAt.Equal(in.ExpiresAt) {
		t.Errorf("get = %+v", got)
	}

	got.Done, got.UserID, got.SessionID, got.AuthTime, got.AMR = true, "user-1", "sess-1", now(), []string{"pwd", "otp"}
	upd := ok[store.AuthRequest](t, "update")(s.UpdateAuthRequest(ctx, got))
	if upd.Version != 2 {
		t.Errorf("update Version = %d", upd.Version)
	}
	_, err = s.UpdateAuthRequest(ctx, got)
	wantErr(t, "update stale", err, store.ErrConflict)
	got = ok[store.AuthRequest](t, "get after update")(s.GetAuthRequest(ctx, r.ID))
	if !got.Done || got.UserID != "user-1" || !equalStrings(got.AMR, []string{"pwd", "otp"}) {
		t.Errorf("after update = %+v", got)
	}

	noErr(t, "delete", s.DeleteAuthRequest(ctx, r.ID))
	_, err = s.GetAuthRequest(ctx, r.ID)
	wantErr(t, "get deleted", err, store.ErrNotFound)
	wantErr(t, "delete again", s.DeleteAuthRequest(ctx, r.ID), store.ErrNotFound)
	_, err = s.UpdateAuthRequest(ctx, upd)
	wantErr(t, "update deleted", err, store.ErrNotFound)
}

func testAuthRequestExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := ok[store.AuthRequest](t, "create")(s.CreateAuthRequest(ctx, authRequest(now().Add(-time.Hour))))
	_, err := s.GetAuthRequest(ctx, r.ID)
	wantErr(t, "get expired", err, store.ErrNotFound)
	r.Done = true
	_, err = s.UpdateAuthRequest(ctx, r)
	wantErr(t, "update expired", err, store.ErrNotFound)
}

func authCodeTests() []test {
	return []test{
		{"ConsumeIsSingleUse", testConsumeAuthCode},
		{"ConsumeExpiredOrUnknown", testConsumeAuthCodeExpired},
		{"OneCodePerAuthRequest", testAuthCodeUnique},
	}
}

func testConsumeAuthCode(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	c := authCode(t, "ar-1", n.Add(time.Minute))
	noErr(t, "save", s.SaveAuthCode(ctx, c))
	got := ok[store.AuthCode](t, "consume")(s.ConsumeAuthCode(ctx, c.Digest, n))
	if !got.Used || got.AuthRequestID != "ar-1" || got.ClientID != "client-1" || !got.UsedAt.Equal(n) {
		t.Errorf("consume = %+v, want used at %s", got, n)
	}
	again, err := s.ConsumeAuthCode(ctx, c.Digest, n.Add(time.Second))
	wantErr(t, "consume again", err, store.ErrAlreadyUsed)
	if again.AuthRequestID != "ar-1" || !again.Used {
		t.Errorf("second consume returned %+v, want the record so the caller can revoke", again)
	}
	// A replay after expiry is still reported as a replay.
	late, err := s.ConsumeAuthCode(ctx, c.Digest, n.Add(time.Hour))
	wantErr(t, "consume again after expiry", err, store.ErrAlreadyUsed)
	if late.AuthRequestID != "ar-1" {
		t.Errorf("late replay returned %+v", late)
	}
}

func testConsumeAuthCodeExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	c := authCode(t, "ar-2", n.Add(time.Minute))
	noErr(t, "save", s.SaveAuthCode(ctx, c))
	_, err := s.ConsumeAuthCode(ctx, c.Digest, n.Add(2*time.Minute))
	wantErr(t, "consume expired", err, store.ErrExpired)
	_, err = s.ConsumeAuthCode(ctx, "no-such-digest", n)
	wantErr(t, "consume unknown", err, store.ErrNotFound)
	// The failed attempt did not burn the code.
	ok[store.AuthCode](t, "consume in time")(s.ConsumeAuthCode(ctx, c.Digest, n))
}

func testAuthCodeUnique(t *testing.T, s store.Store) {
	ctx := t.Context()
	exp := now().Add(time.Minute)
	c := authCode(t, "ar-3", exp)
	noErr(t, "save", s.SaveAuthCode(ctx, c))
	wantErr(t, "second code for the request", s.SaveAuthCode(ctx, authCode(t, "ar-3", exp)), store.ErrAlreadyExists)
	dup := authCode(t, "ar-4", exp)
	dup.Digest = c.Digest
	wantErr(t, "same digest again", s.SaveAuthCode(ctx, dup), store.ErrAlreadyExists)
	noErr(t, "code for another request", s.SaveAuthCode(ctx, authCode(t, "ar-4", exp)))
}

func refreshTests() []test {
	return []test{
		{"CreateGet", testRefreshCreateGet},
		{"Rotate", testRotate},
		{"ReuseRevokesFamily", testRotateReuse},
		{"RotateRevokedRevokesFamily", testRotateRevoked},
		{"RotateExpiredOrUnknown", testRotateExpired},
		{"RevokeFamily", testRevokeFamily},
		{"RevokeUserTokens", testRevokeUserRefreshTokens},
	}
}

func testRefreshCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	rt := refreshToken(t, "user-1", "fam-1", now().Add(time.Hour))
	rt.AuthTime, rt.AMR, rt.Audience = now(), []string{"pwd"}, []string{"client-1"}
	noErr(t, "create", s.CreateRefreshToken(ctx, rt))
	wantErr(t, "create duplicate", s.CreateRefreshToken(ctx, rt), store.ErrAlreadyExists)
	got := ok[store.RefreshToken](t, "get")(s.GetRefreshToken(ctx, rt.ID))
	if got.FamilyID != "fam-1" || got.UserID != "user-1" || !equalStrings(got.Scopes, rt.Scopes) ||
		!got.ExpiresAt.Equal(rt.ExpiresAt) || !got.AuthTime.Equal(rt.AuthTime) || got.Revoked || !got.ConsumedAt.IsZero() {
		t.Errorf("get = %+v", got)
	}
	_, err := s.GetRefreshToken(ctx, "no-such-token")
	wantErr(t, "get unknown", err, store.ErrNotFound)
}

func testRotate(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	old := refreshToken(t, "user-1", "fam-1", n.Add(time.Hour))
	noErr(t, "create", s.CreateRefreshToken(ctx, old))
	next := refreshToken(t, "user-1", "fam-1", n.Add(2*time.Hour))
	noErr(t, "rotate", s.RotateRefreshToken(ctx, old.ID, next, n))
	if got := ok[store.RefreshToken](t, "get old")(s.GetRefreshToken(ctx, old.ID)); !got.ConsumedAt.Equal(n) || got.Revoked {
		t.Errorf("old after rotate = %+v, want consumed at %s, not revoked", got, n)
	}
	if got := ok[store.RefreshToken](t, "get next")(s.GetRefreshToken(ctx, next.ID)); got.FamilyID != "fam-1" || got.Revoked || !got.ConsumedAt.IsZero() {
		t.Errorf("next after rotate = %+v", got)
	}
	third := refreshToken(t, "user-1", "fam-1", n.Add(3*time.Hour))
	noErr(t, "rotate next", s.RotateRefreshToken(ctx, next.ID, third, n.Add(time.Minute)))
}

func testRotateReuse(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	old := refreshToken(t, "user-1", "fam-1", n.Add(time.Hour))
	other := refreshToken(t, "user-1", "fam-10", n.Add(time.Hour))
	noErr(t, "create", s.CreateRefreshToken(ctx, old))
	noErr(t, "create other family", s.CreateRefreshToken(ctx, other))
	next := refreshToken(t, "user-1", "fam-1", n.Add(time.Hour))
	noErr(t, "rotate", s.RotateRefreshToken(ctx, old.ID, next, n))

	replayNext := refreshToken(t, "user-1", "fam-1", n.Add(time.Hour))
	wantErr(t, "rotate a consumed token", s.RotateRefreshToken(ctx, old.ID, replayNext, n), store.ErrAlreadyUsed)
	for _, id := range []string{old.ID, next.ID} {
		if got := ok[store.RefreshToken](t, "get family member")(s.GetRefreshToken(ctx, id)); !got.Revoked {
			t.Errorf("token %s of the reused family is not revoked", id)
		}
	}
	_, err := s.GetRefreshToken(ctx, replayNext.ID)
	wantErr(t, "get the token offered on reuse", err, store.ErrNotFound)
	if got := ok[store.RefreshToken](t, "get other family")(s.GetRefreshToken(ctx, other.ID)); got.Revoked {
		t.Error("reuse revoked another family")
	}
	// The legitimate holder of next is locked out too.
	wantErr(t, "rotate revoked next", s.RotateRefreshToken(ctx, next.ID, refreshToken(t, "user-1", "fam-1", n.Add(time.Hour)), n), store.ErrAlreadyUsed)
}

func testRotateRevoked(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	a := refreshToken(t, "user-1", "fam-1", n.Add(time.Hour))
	b := refreshToken(t, "user-1", "fam-1", n.Add(time.Hour))
	noErr(t, "create a", s.CreateRefreshToken(ctx, a))
	noErr(t, "create b", s.CreateRefreshToken(ctx, b))
	noErr(t, "revoke family", s.RevokeRefreshFamily(ctx, "fam-1"))
	next := refreshToken(t, "user-1", "fam-1", n.Add(time.Hour))
	wantErr(t, "rotate revoked", s.RotateRefreshToken(ctx, a.ID, next, n), store.ErrAlreadyUsed)
	_, err := s.GetRefreshToken(ctx, next.ID)
	wantErr(t, "next after refused rotation", err, store.ErrNotFound)
}

func testRotateExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	old := refreshToken(t, "user-1", "fam-1", n.Add(time.Minute))
	noErr(t, "create", s.CreateRefreshToken(ctx, old))
	next := refreshToken(t, "user-1", "fam-1", n.Add(time.Hour))
	wantErr(t, "rotate expired", s.RotateRefreshToken(ctx, old.ID, next, n.Add(2*time.Minute)), store.ErrExpired)
	_, err := s.GetRefreshToken(ctx, next.ID)
	wantErr(t, "next after expired rotation", err, store.ErrNotFound)
	wantErr(t, "rotate unknown", s.RotateRefreshToken(ctx, "no-such-token", next, n), store.ErrNotFound)
	if got := ok[store.RefreshToken](t, "get old")(s.GetRefreshToken(ctx, old.ID)); got.Revoked || !got.ConsumedAt.IsZero() {
		t.Errorf("refused rotation changed the token: %+v", got)
	}
}

func testRevokeFamily(t *testing.T, s store.Store) {
	ctx := t.Context()
	exp := now().Add(time.Hour)
	a1, a2 := refreshToken(t, "u1", "fam-a", exp), refreshToken(t, "u1", "fam-a", exp)
	b1 := refreshToken(t, "u1", "fam-a0", exp) // a family id with fam-a as a prefix
	for _, rt := range []store.RefreshToken{a1, a2, b1} {
		noErr(t, "create", s.CreateRefreshToken(ctx, rt))
	}
	noErr(t, "revoke family", s.RevokeRefreshFamily(ctx, "fam-a"))
	noErr(t, "revoke family again", s.RevokeRefreshFamily(ctx, "fam-a"))
	noErr(t, "revoke unknown family", s.RevokeRefreshFamily(ctx, "no-such-family"))
	for _, tc := range []struct {
		id      string
		revoked bool
	}{{a1.ID, true}, {a2.ID, true}, {b1.ID, false}} {
		if got := ok[store.RefreshToken](t, "get")(s.GetRefreshToken(ctx, tc.id)); got.Revoked != tc.revoked {
			t.Errorf("token of family %s: Revoked = %v, want %v", got.FamilyID, got.Revoked, tc.revoked)
		}
	}
}

func testRevokeUserRefreshTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	exp := now().Add(time.Hour)
	mine := []store.RefreshToken{
		refreshToken(t, "u1", "fam-b", exp), refreshToken(t, "u1", "fam-a", exp), refreshToken(t, "u1", "fam-b", exp),
	}
	theirs := refreshToken(t, "u10", "fam-c", exp) // a user id with u1 as a prefix
	for _, rt := range append(mine, theirs) {
		noErr(t, "create", s.CreateRefreshToken(ctx, rt))
	}
	fams := ok[[]string](t, "revoke user tokens")(s.RevokeUserRefreshTokens(ctx, "u1"))
	if !equalStrings(fams, []string{"fam-a", "fam-b"}) {
		t.Errorf("families = %v, want [fam-a fam-b]", fams)
	}
	for _, rt := range mine {
		if got := ok[store.RefreshToken](t, "get")(s.GetRefreshToken(ctx, rt.ID)); !got.Revoked {
			t.Errorf("token %s of u1 not revoked", rt.ID)
		}
	}
	if got := ok[store.RefreshToken](t, "get")(s.GetRefreshToken(ctx, theirs.ID)); got.Revoked {
		t.Error("token of another user revoked")
	}
	if fams := ok[[]string](t, "revoke for unknown user")(s.RevokeUserRefreshTokens(ctx, "nobody")); len(fams) != 0 {
		t.Errorf("unknown user has families %v", fams)
	}
}

func sessionTests() []test {
	return []test{
		{"CreateGetRevoke", testSessions},
		{"StepUpFieldsRoundTrip", testSessionFieldsRoundTrip},
		{"ListUserSessionsLiveNewestFirst", testListUserSessions},
		{"UpdateSessionChangesStepUpOnly", testUpdateSession},
	}
}

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	exp := now().Add(time.Hour)
	s1, s2, other := session(t, "u1", exp), session(t, "u1", exp), session(t, "u10", exp)
	for _, ss := range []store.Session{s1, s2, other} {
		noErr(t, "create", s.CreateSession(ctx, ss))
	}
	wantErr(t, "create duplicate", s.CreateSession(ctx, s1), store.ErrAlreadyExists)
	got := ok[store.Session](t, "get")(s.GetSession(ctx, s1.ID))
	if got.UserID != "u1" || got.Revoked || !got.ExpiresAt.Equal(exp) || !got.AuthTime.Equal(s1.AuthTime) || !equalStrings(got.AMR, []string{"pwd"}) {
		t.Errorf("get = %+v", got)
	}
	_, err := s.GetSession(ctx, "no-such-session")
	wantErr(t, "get unknown", err, store.ErrNotFound)

	noErr(t, "revoke", s.RevokeSession(ctx, s1.ID))
	if got := ok[store.Session](t, "get revoked")(s.GetSession(ctx, s1.ID)); !got.Revoked {
		t.Error("revoked session not marked")
	}
	wantErr(t, "revoke unknown", s.RevokeSession(ctx, "no-such-session"), store.ErrNotFound)

	noErr(t, "revoke user sessions", s.RevokeUserSessions(ctx, "u1"))
	if got := ok[store.Session](t, "get")(s.GetSession(ctx, s2.ID)); !got.Revoked {
		t.Error("RevokeUserSessions left a session live")
	}
	if got := ok[store.Session](t, "get")(s.GetSession(ctx, other.ID)); got.Revoked {
		t.Error("RevokeUserSessions revoked another user's session")
	}
	noErr(t, "revoke sessions of unknown user", s.RevokeUserSessions(ctx, "nobody"))
}

func revocationTests() []test {
	return []test{{"RevokeAndLapse", testRevocations}}
}

func testRevocations(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	noErr(t, "revoke jti", s.Revoke(ctx, store.Revocation{Key: "jti-1", Until: n.Add(time.Hour)}))
	noErr(t, "revoke family", s.Revoke(ctx, store.Revocation{Key: "family:f1", Until: n.Add(time.Hour)}))
	noErr(t, "revoke lapsed", s.Revoke(ctx, store.Revocation{Key: "jti-old", Until: n.Add(-time.Minute)}))
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{"jti-1", true},
		{"family:f1", true},
		{"jti-old", false}, // lapsed, even though not swept yet
		{"jti-2", false},
		{"jti", false},
	} {
		got, err := s.IsRevoked(ctx, tc.key)
		if err != nil || got != tc.want {
			t.Errorf("IsRevoked(%q) = %v, %v; want %v", tc.key, got, err, tc.want)
		}
	}
	// Revoking again is fine.
	noErr(t, "revoke jti again", s.Revoke(ctx, store.Revocation{Key: "jti-1", Until: n.Add(2 * time.Hour)}))
	if got := ok[bool](t, "is revoked")(s.IsRevoked(ctx, "jti-1")); !got {
		t.Error("jti-1 not revoked after second revoke")
	}
}

func apiTokenTests() []test {
	return []test{{"ByDigestAndRevoke", testAPITokens}}
}

func testAPITokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	d1, d2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	a := ok[store.APIToken](t, "create")(s.CreateAPIToken(ctx, store.APIToken{Name: "ci", Digest: d1, Roles: []string{"admin"}}))
	if a.ID == "" || a.CreatedAt.IsZero() {
		t.Errorf("create = %+v, want an id and CreatedAt", a)
	}
	ok[store.APIToken](t, "create second")(s.CreateAPIToken(ctx, store.APIToken{Name: "ro", Digest: d2, ExpiresAt: now().Add(time.Hour)}))
	_, err := s.CreateAPIToken(ctx, store.APIToken{Name: "dup", Digest: d1})
	wantErr(t, "create with a taken digest", err, store.ErrAlreadyExists)

	got := ok[store.APIToken](t, "get by digest")(s.GetAPITokenByDigest(ctx, d1))
	if got.ID != a.ID || got.Name != "ci" || !equalStrings(got.Roles, []string{"admin"}) || got.Revoked {
		t.Errorf("get by digest = %+v", got)
	}
	_, err = s.GetAPITokenByDigest(ctx, bytes.Repeat([]byte{3}, 32))
	wantErr(t, "get unknown digest", err, store.ErrNotFound)
	if list := ok[[]store.APIToken](t, "list")(s.ListAPITokens(ctx)); len(list) != 2 {
		t.Errorf("list = %d tokens, want 2", len(list))
	}

	noErr(t, "revoke", s.RevokeAPIToken(ctx, a.ID))
	if got := ok[store.APIToken](t, "get revoked")(s.GetAPITokenByDigest(ctx, d1)); !got.Revoked {
		t.Error("revoked token not marked")
	}
	if got := ok[store.APIToken](t, "get other")(s.GetAPITokenByDigest(ctx, d2)); got.Revoked {
		t.Error("revoke hit another token")
	}
	wantErr(t, "revoke unknown", s.RevokeAPIToken(ctx, "no-such-token"), store.ErrNotFound)
}

func auditTests() []test {
	return []test{{"AppendAndPage", testAudit}, {"HashChain", testAuditChain}}
}

// testAuditChain: every stored event links to the one before it, the first to nothing,
// and a stored event read back still hashes to its Hash (the encoding survives the
// round trip, details with characters JSON escapes included).
func testAuditChain(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i := range 4 {
		ok[store.AuditEvent](t, "append")(s.AppendAudit(ctx, store.AuditEvent{
			Time: now(), Actor: "alice", Action: "x", Outcome: "success",
			Details: map[string]string{"q": "a<b>&\"c\"", "i": string(rune('0' + i))},
		}))
	}
	events := ok[[]store.AuditEvent](t, "list")(s.ListAudit(ctx, 0, 0))
	var prev []byte
	for _, e := range events {
		if len(e.Hash) != 32 {
			t.Fatalf("event %d: hash %x, want 32 bytes", e.Seq, e.Hash)
		}
		if good, err := e.VerifyLink(prev); err != nil || !good {
			t.Fatalf("event %d does not link to %x: %v", e.Seq, prev, err)
		}
		prev = e.Hash
	}
	edited := events[1]
	edited.Actor = "mallory"
	if good, _ := edited.VerifyLink(events[0].Hash); good {
		t.Error("an edited event still verifies")
	}
}

func testAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	var seqs []uint64
	for i, action := range []string{"login", "logout", "user.create", "user.delete", "token.issue"} {
		e := ok[store.AuditEvent](t, "append")(s.AppendAudit(ctx, store.AuditEvent{
			Time: now(), Actor: "alice", Action: action, Outcome: "success",
			Details: map[string]string{"i": string(rune('0' + i))},
		}))
		if len(seqs) > 0 && e.Seq <= seqs[len(seqs)-1] {
			t.Fatalf("seq %d after %d: not strictly increasing", e.Seq, seqs[len(seqs)-1])
		}
		seqs = append(seqs, e.Seq)
	}
	page := ok[[]store.AuditEvent](t, "first page")(s.ListAudit(ctx, 0, 2))
	if len(page) != 2 || page[0].Seq != seqs[0] || page[1].Seq != seqs[1] || page[0].Action != "login" || page[1].Details["i"] != "1" {
		t.Fatalf("first page = %+v", page)
	}
	rest := ok[[]store.AuditEvent](t, "next page")(s.ListAudit(ctx, page[1].Seq, 10))
	if len(rest) != 3 || rest[0].Seq != seqs[2] || rest[2].Action != "token.issue" {
		t.Fatalf("next page = %+v", rest)
	}
	if end := ok[[]store.AuditEvent](t, "past the end")(s.ListAudit(ctx, seqs[4], 10)); len(end) != 0 {
		t.Errorf("past the end = %+v", end)
	}
	mid := ok[[]store.AuditEvent](t, "from the middle")(s.ListAudit(ctx, seqs[2], 1))
	if len(mid) != 1 || mid[0].Seq != seqs[3] {
		t.Errorf("from the middle = %+v", mid)
	}
}
