package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

func atomicTests() []test {
	return []test{
		{"FailureLeavesNothing", testAtomicRollback},
		{"SuccessKeepsAll", testAtomicCommit},
		{"UniquenessViolationRollsBack", testAtomicUniqueness},
	}
}

var errHalfway = errors.New("stop half-way")

func testAtomicRollback(t *testing.T, s store.Store) {
	ctx := t.Context()
	err := s.Atomic(ctx, func(tx store.Tx) error {
		u, err := tx.CreateUser(ctx, store.User{ID: "atomic-user", UserName: "atomic"})
		if err != nil {
			return err
		}
		if _, err := tx.CreateGroup(ctx, store.Group{ID: "atomic-group", DisplayName: "atomic", Members: []string{u.ID}}); err != nil {
			return err
		}
		if _, err := tx.CreateClient(ctx, store.Client{ID: "atomic-client"}); err != nil {
			return err
		}
		// Reads inside the transaction see its own writes.
		if _, err := tx.GetUserByName(ctx, "ATOMIC"); err != nil {
			return err
		}
		if gs, err := tx.GroupsOfUser(ctx, u.ID); err != nil || len(gs) != 1 {
			return errors.New("membership not visible inside the transaction")
		}
		if _, err := tx.AppendAudit(ctx, store.AuditEvent{Action: "atomic", Outcome: "success"}); err != nil {
			return err
		}
		return errHalfway
	})
	wantErr(t, "Atomic", err, errHalfway)
	_, err = s.GetUser(ctx, "atomic-user")
	wantErr(t, "user after rollback", err, store.ErrNotFound)
	_, err = s.GetUserByName(ctx, "atomic")
	wantErr(t, "user by name after rollback", err, store.ErrNotFound)
	_, err = s.GetGroup(ctx, "atomic-group")
	wantErr(t, "group after rollback", err, store.ErrNotFound)
	_, err = s.GetClient(ctx, "atomic-client")
	wantErr(t, "client after rollback", err, store.ErrNotFound)
	if ev := ok[[]store.AuditEvent](t, "audit after rollback")(s.ListAudit(ctx, 0, 100)); len(ev) != 0 {
		t.Errorf("audit events after rollback: %+v", ev)
	}
	// Every name is still free.
	mkUser(t, s, "atomic")
	mkGroup(t, s, "atomic")
}

func testAtomicCommit(t *testing.T, s store.Store) {
	ctx := t.Context()
	var uid string
	err := s.Atomic(ctx, func(tx store.Tx) error {
		u, err := tx.CreateUser(ctx, store.User{UserName: "committed"})
		if err != nil {
			return err
		}
		uid = u.ID
		g, err := tx.CreateGroup(ctx, store.Group{DisplayName: "committed"})
		if err != nil {
			return err
		}
		if err := tx.AddMember(ctx, g.ID, u.ID); err != nil {
			return err
		}
		if _, err := tx.PutCredential(ctx, store.Credential{UserID: u.ID, Type: store.CredentialPassword, Secret: []byte("h")}); err != nil {
			return err
		}
		if _, err := tx.CreateClient(ctx, store.Client{ID: "committed-client"}); err != nil {
			return err
		}
		return tx.CreateSession(ctx, session(t, u.ID, now().Add(time.Hour)))
	})
	noErr(t, "Atomic", err)
	ok[store.User](t, "user")(s.GetUserByName(ctx, "committed"))
	ok[store.Client](t, "client")(s.GetClient(ctx, "committed-client"))
	ok[store.Credential](t, "credential")(s.GetCredential(ctx, uid, store.CredentialPassword, "password"))
	gs := ok[[]store.Group](t, "groups of user")(s.GroupsOfUser(ctx, uid))
	if len(gs) != 1 || gs[0].DisplayName != "committed" || gs[0].Version != 2 {
		t.Errorf("groups of user = %+v, want [committed v2]", gs)
	}
}

func testAtomicUniqueness(t *testing.T, s store.Store) {
	ctx := t.Context()
	mkUser(t, s, "taken")
	err := s.Atomic(ctx, func(tx store.Tx) error {
		if _, err := tx.CreateGroup(ctx, store.Group{ID: "g-rolled-back", DisplayName: "rolled-back"}); err != nil {
			return err
		}
		if _, err := tx.CreateClient(ctx, store.Client{ID: "c-rolled-back"}); err != nil {
			return err
		}
		_, err := tx.CreateUser(ctx, store.User{UserName: "TAKEN"})
		return err
	})
	wantErr(t, "Atomic with a duplicate name", err, store.ErrAlreadyExists)
	_, err = s.GetGroup(ctx, "g-rolled-back")
	wantErr(t, "group after rollback", err, store.ErrNotFound)
	_, err = s.GetClient(ctx, "c-rolled-back")
	wantErr(t, "client after rollback", err, store.ErrNotFound)
	if us := ok[[]store.User](t, "list users")(s.ListUsers(ctx)); len(us) != 1 {
		t.Errorf("users = %d, want 1", len(us))
	}
}

func expiryTests() []test {
	return []test{{"DeleteExpiredRemovesExactlyTheExpired", testDeleteExpired}}
}

func testDeleteExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	past, future := n.Add(-time.Hour), n.Add(time.Hour)

	deadReq := ok[store.AuthRequest](t, "create")(s.CreateAuthRequest(ctx, authRequest(past)))
	liveReq := ok[store.AuthRequest](t, "create")(s.CreateAuthRequest(ctx, authRequest(future)))
	deadCode, liveCode := authCode(t, "ar-dead", past), authCode(t, "ar-live", future)
	noErr(t, "save", s.SaveAuthCode(ctx, deadCode))
	noErr(t, "save", s.SaveAuthCode(ctx, liveCode))
	deadRT, liveRT := refreshToken(t, "u1", "fam-dead", past), refreshToken(t, "u1", "fam-live", future)
	famDeadRT := refreshToken(t, "u1", "fam-capped", future)
	famDeadRT.FamilyExpiresAt = past
	for _, rt := range []store.RefreshToken{deadRT, liveRT, famDeadRT} {
		noErr(t, "create refresh token", s.CreateRefreshToken(ctx, rt))
	}
	deadSess, liveSess := session(t, "u1", past), session(t, "u1", future)
	noErr(t, "create session", s.CreateSession(ctx, deadSess))
	noErr(t, "create session", s.CreateSession(ctx, liveSess))
	noErr(t, "revoke", s.Revoke(ctx, store.Revocation{Key: "dead", Until: past}))
	noErr(t, "revoke", s.Revoke(ctx, store.Revocation{Key: "live", Until: future}))
	deadDigest := []byte("digest-dead-0123456789abcdef0123")
	ok[store.APIToken](t, "create")(s.CreateAPIToken(ctx, store.APIToken{Name: "dead", Digest: deadDigest, ExpiresAt: past}))
	liveTok := ok[store.APIToken](t, "create")(s.CreateAPIToken(ctx, store.APIToken{Name: "live", Digest: []byte("digest-live"), ExpiresAt: future}))
	foreverTok := ok[store.APIToken](t, "create")(s.CreateAPIToken(ctx, store.APIToken{Name: "forever", Digest: []byte("digest-forever")}))
	// Records without an end of life stay.
	u := mkUser(t, s, "stays")
	ok[store.AuditEvent](t, "append")(s.AppendAudit(ctx, store.AuditEvent{Action: "x", Outcome: "success"}))

	got := ok[int](t, "delete expired")(s.DeleteExpired(ctx, n))
	if got != 7 {
		t.Errorf("DeleteExpired = %d, want 7 (one auth request, code, session, revocation, api token; two refresh tokens)", got)
	}

	_, err := s.GetAuthRequest(ctx, deadReq.ID)
	wantErr(t, "expired auth request", err, store.ErrNotFound)
	ok[store.AuthRequest](t, "live auth request")(s.GetAuthRequest(ctx, liveReq.ID))
	_, err = s.ConsumeAuthCode(ctx, deadCode.Digest, past.Add(-time.Minute))
	wantErr(t, "swept code", err, store.ErrNotFound)
	for _, id := range []string{deadRT.ID, famDeadRT.ID} {
		_, err = s.GetRefreshToken(ctx, id)
		wantErr(t, "swept refresh token", err, store.ErrNotFound)
	}
	ok[store.RefreshToken](t, "live refresh token")(s.GetRefreshToken(ctx, liveRT.ID))
	_, err = s.GetSession(ctx, deadSess.ID)
	wantErr(t, "swept session", err, store.ErrNotFound)
	ok[store.Session](t, "live session")(s.GetSession(ctx, liveSess.ID))
	if r := ok[bool](t, "live revocation")(s.IsRevoked(ctx, "live")); !r {
		t.Error("live revocation swept")
	}
	_, err = s.GetAPITokenByDigest(ctx, deadDigest)
	wantErr(t, "swept api token", err, store.ErrNotFound)
	ok[store.APIToken](t, "live api token")(s.GetAPITokenByDigest(ctx, liveTok.Digest))
	ok[store.APIToken](t, "api token without expiry")(s.GetAPITokenByDigest(ctx, foreverTok.Digest))
	ok[store.User](t, "user")(s.GetUser(ctx, u.ID))
	if ev := ok[[]store.AuditEvent](t, "audit")(s.ListAudit(ctx, 0, 100)); len(ev) != 1 {
		t.Errorf("audit events = %d, want 1", len(ev))
	}
	ok[store.AuthCode](t, "live code")(s.ConsumeAuthCode(ctx, liveCode.Digest, n))

	// Index entries went with the records: their keys are free again.
	noErr(t, "new code for the swept code's request", s.SaveAuthCode(ctx, authCode(t, "ar-dead", future)))
	ok[store.APIToken](t, "reuse the swept digest")(s.CreateAPIToken(ctx, store.APIToken{Name: "again", Digest: deadDigest}))
	fams := ok[[]string](t, "revoke user refresh tokens")(s.RevokeUserRefreshTokens(ctx, "u1"))
	if !equalStrings(fams, []string{"fam-live"}) {
		t.Errorf("families after sweep = %v, want [fam-live]", fams)
	}
	if again := ok[int](t, "delete expired again")(s.DeleteExpired(ctx, n)); again != 0 {
		t.Errorf("second DeleteExpired = %d, want 0", again)
	}
}
