package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

func roleSessionTests() []test {
	return []test{
		{"FieldsRoundTrip", testRoleSessionRoundTrip},
		{"DuplicateIDRefused", testRoleSessionDuplicate},
		{"IncompleteRefused", testRoleSessionIncomplete},
		{"RevokeIsIdempotentAndKnown", testRoleSessionRevoke},
		{"ListByRoleNewestFirst", testListRoleSessions},
		{"DeleteExpiredSweepsRoleSessions", testRoleSessionExpiry},
		{"ConcurrentCreates", testRoleSessionConcurrentCreates},
		{"AtomicRollback", testRoleSessionAtomicRollback},
		{"FindByRoleSubjectAndLiveness", testFindRoleSessions},
	}
}

func roleSession(t *testing.T, roleID string, issued, expires time.Time) store.RoleSession {
	t.Helper()
	return store.RoleSession{
		ID:           randID(t, "PCIA"),
		RoleID:       roleID,
		RoleARN:      testARN("deploy"),
		SessionName:  "gha-42",
		Subject:      "repo:acme/app:ref:refs/heads/main",
		Issuer:       "https://token.actions.githubusercontent.com",
		SecretSealed: []byte{1, 2, 3, 4},
		IssuedAt:     issued,
		ExpiresAt:    expires,
	}
}

func testRoleSessionRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	in := roleSession(t, "role-1", n, n.Add(time.Hour))
	in.SourceIdentity = "alice"
	in.SessionPolicyDigest = "ab12"
	// Stored compacted, as every other policy document.
	in.SessionPolicy = json.RawMessage(`{ "Version": "2012-10-17",
		"Statement": [] }`)
	in.PolicyARNs = []string{"arn:portcullis:iam::123456789012:policy/read-only"}
	in.Tags = map[string]string{"Team": "web"}
	noErr(t, "create", s.CreateRoleSession(ctx, in))

	// The caller's slices and maps are not aliased by the store.
	in.SecretSealed[0], in.Tags["Team"], in.PolicyARNs[0] = 9, "changed", "changed"

	got := ok[store.RoleSession](t, "get")(s.GetRoleSession(ctx, in.ID))
	if got.ID != in.ID || got.RoleID != "role-1" || got.RoleARN != testARN("deploy") || got.SessionName != "gha-42" ||
		got.Subject != in.Subject || got.Issuer != in.Issuer || got.SourceIdentity != "alice" ||
		got.SessionPolicyDigest != "ab12" || got.Revoked {
		t.Errorf("get = %+v", got)
	}
	if !bytes.Equal(got.SecretSealed, []byte{1, 2, 3, 4}) {
		t.Errorf("SecretSealed = %v, want [1 2 3 4]", got.SecretSealed)
	}
	if string(got.SessionPolicy) != `{"Version":"2012-10-17","Statement":[]}` {
		t.Errorf("SessionPolicy = %s, want the compacted document", got.SessionPolicy)
	}
	if !equalStrings(got.PolicyARNs, []string{"arn:portcullis:iam::123456789012:policy/read-only"}) {
		t.Errorf("PolicyARNs = %v", got.PolicyARNs)
	}
	if len(got.Tags) != 1 || got.Tags["Team"] != "web" {
		t.Errorf("Tags = %v, want Team=web", got.Tags)
	}
	sameTime(t, "IssuedAt", got.IssuedAt, n)
	sameTime(t, "ExpiresAt", got.ExpiresAt, n.Add(time.Hour))

	// A returned value is a copy too.
	got.SecretSealed[0] = 7
	if again := ok[store.RoleSession](t, "get again")(s.GetRoleSession(ctx, in.ID)); again.SecretSealed[0] != 1 {
		t.Errorf("stored secret changed through a returned slice: %v", again.SecretSealed)
	}

	// Without IssuedAt the store's clock fills it; without a policy none is stored.
	bare := roleSession(t, "role-1", time.Time{}, n.Add(time.Hour))
	noErr(t, "create bare", s.CreateRoleSession(ctx, bare))
	gotBare := ok[store.RoleSession](t, "get bare")(s.GetRoleSession(ctx, bare.ID))
	if gotBare.IssuedAt.IsZero() || len(gotBare.SessionPolicy) != 0 || gotBare.Tags != nil {
		t.Errorf("bare session = %+v, want IssuedAt set and no policy or tags", gotBare)
	}

	_, err := s.GetRoleSession(ctx, "PCIAUNKNOWN")
	wantErr(t, "get unknown", err, store.ErrNotFound)
}

func testRoleSessionDuplicate(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	first := roleSession(t, "role-1", n, n.Add(time.Hour))
	noErr(t, "create", s.CreateRoleSession(ctx, first))
	dup := roleSession(t, "role-2", n, n.Add(2*time.Hour))
	dup.ID = first.ID
	wantErr(t, "create duplicate", s.CreateRoleSession(ctx, dup), store.ErrAlreadyExists)
	got := ok[store.RoleSession](t, "get")(s.GetRoleSession(ctx, first.ID))
	if got.RoleID != "role-1" {
		t.Errorf("duplicate replaced the first session: %+v", got)
	}
	if l := ok[[]store.RoleSession](t, "list")(s.ListRoleSessions(ctx, "role-2")); len(l) != 0 {
		t.Errorf("refused duplicate was indexed under its role: %d sessions", len(l))
	}
}

func testRoleSessionIncomplete(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	tests := []struct {
		name   string
		modify func(*store.RoleSession)
	}{
		{"no id", func(r *store.RoleSession) { r.ID = "" }},
		{"no role", func(r *store.RoleSession) { r.RoleID = "" }},
		{"no secret", func(r *store.RoleSession) { r.SecretSealed = nil }},
		{"no expiry", func(r *store.RoleSession) { r.ExpiresAt = time.Time{} }},
		{"policy not JSON", func(r *store.RoleSession) { r.SessionPolicy = json.RawMessage(`{"Version":`) }},
	}
	for _, tc := range tests {
		rs := roleSession(t, "role-1", n, n.Add(time.Hour))
		tc.modify(&rs)
		if err := s.CreateRoleSession(ctx, rs); err == nil {
			t.Errorf("%s: created, want an error", tc.name)
		}
	}
	if l := ok[[]store.RoleSession](t, "list")(s.ListRoleSessions(ctx, "role-1")); len(l) != 0 {
		t.Errorf("refused sessions were stored: %d", len(l))
	}
}

func testRoleSessionRevoke(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	rs := roleSession(t, "role-1", n, n.Add(time.Hour))
	other := roleSession(t, "role-1", n, n.Add(time.Hour))
	noErr(t, "create", s.CreateRoleSession(ctx, rs))
	noErr(t, "create other", s.CreateRoleSession(ctx, other))
	noErr(t, "revoke", s.RevokeRoleSession(ctx, rs.ID))
	noErr(t, "revoke again", s.RevokeRoleSession(ctx, rs.ID))
	if got := ok[store.RoleSession](t, "get")(s.GetRoleSession(ctx, rs.ID)); !got.Revoked || !bytes.Equal(got.SecretSealed, rs.SecretSealed) {
		t.Errorf("revoked session = %+v, want Revoked and the rest unchanged", got)
	}
	if got := ok[store.RoleSession](t, "get other")(s.GetRoleSession(ctx, other.ID)); got.Revoked {
		t.Error("revoking one session revoked another")
	}
	wantErr(t, "revoke unknown", s.RevokeRoleSession(ctx, "PCIAUNKNOWN"), store.ErrNotFound)
}

func testListRoleSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	mk := func(role string, age time.Duration) store.RoleSession {
		rs := roleSession(t, role, n.Add(-age), n.Add(time.Hour-age))
		noErr(t, "create", s.CreateRoleSession(ctx, rs))
		return rs
	}
	middle := mk("r1", 10*time.Minute)
	newest := mk("r1", time.Minute)
	oldest := mk("r1", 30*time.Minute)
	expired := mk("r1", 2*time.Hour) // kept until swept
	revoked := mk("r1", 5*time.Minute)
	noErr(t, "revoke", s.RevokeRoleSession(ctx, revoked.ID))
	mk("r10", 0) // a role id with r1 as a prefix
	theirs := mk("r2", 0)

	ids := func(l []store.RoleSession) []string {
		out := make([]string, len(l))
		for i, x := range l {
			out[i] = x.ID
		}
		return out
	}
	got := ids(ok[[]store.RoleSession](t, "list r1")(s.ListRoleSessions(ctx, "r1")))
	want := []string{newest.ID, revoked.ID, middle.ID, oldest.ID, expired.ID}
	if !equalStrings(got, want) {
		t.Errorf("list r1 = %v, want %v", got, want)
	}
	if got := ids(ok[[]store.RoleSession](t, "list r2")(s.ListRoleSessions(ctx, "r2"))); !equalStrings(got, []string{theirs.ID}) {
		t.Errorf("list r2 = %v, want [%s]", got, theirs.ID)
	}
	for _, role := range []string{"", "r3"} {
		l, err := s.ListRoleSessions(ctx, role)
		if err != nil || l == nil || len(l) != 0 {
			t.Errorf("list %q = %v, %v; want an empty, non-nil list", role, l, err)
		}
	}
}

func testRoleSessionExpiry(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	dead := roleSession(t, "r1", n.Add(-2*time.Hour), n.Add(-time.Hour))
	deadRevoked := roleSession(t, "r1", n.Add(-2*time.Hour), n)
	live := roleSession(t, "r1", n, n.Add(time.Hour))
	for _, rs := range []store.RoleSession{dead, deadRevoked, live} {
		noErr(t, "create", s.CreateRoleSession(ctx, rs))
	}
	noErr(t, "revoke", s.RevokeRoleSession(ctx, deadRevoked.ID))

	if got := ok[int](t, "delete expired")(s.DeleteExpired(ctx, n)); got != 2 {
		t.Errorf("DeleteExpired = %d, want 2 (ExpiresAt before now and at now)", got)
	}
	for _, id := range []string{dead.ID, deadRevoked.ID} {
		_, err := s.GetRoleSession(ctx, id)
		wantErr(t, "swept role session", err, store.ErrNotFound)
	}
	ok[store.RoleSession](t, "live role session")(s.GetRoleSession(ctx, live.ID))
	l := ok[[]store.RoleSession](t, "list")(s.ListRoleSessions(ctx, "r1"))
	if len(l) != 1 || l[0].ID != live.ID {
		t.Errorf("list after sweep = %d sessions, want only the live one", len(l))
	}
	if got := ok[int](t, "delete expired again")(s.DeleteExpired(ctx, n)); got != 0 {
		t.Errorf("second DeleteExpired = %d, want 0", got)
	}
}

// testRoleSessionConcurrentCreates issues credentials from many goroutines at once, the
// way the STS does under load: every one is stored, and a colliding id loses cleanly.
func testRoleSessionConcurrentCreates(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	const workers = 32
	var wg sync.WaitGroup
	errs := make(chan error, workers+1)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs := roleSession(t, "r1", n, n.Add(time.Hour))
			rs.ID = fmt.Sprintf("PCIA%016d", i)
			errs <- s.CreateRoleSession(ctx, rs)
		}()
	}
	// One more with a taken id, racing the others.
	wg.Add(1)
	go func() {
		defer wg.Done()
		rs := roleSession(t, "r2", n, n.Add(time.Hour))
		rs.ID = fmt.Sprintf("PCIA%016d", 0)
		// Either it lands first and the original loses, or the other way round.
		errs <- s.CreateRoleSession(ctx, rs)
	}()
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, store.ErrAlreadyExists):
			failed++
		default:
			t.Errorf("create: %v", err)
		}
	}
	if failed != 1 {
		t.Errorf("%d creates failed with ErrAlreadyExists, want exactly 1", failed)
	}
	total := len(ok[[]store.RoleSession](t, "list r1")(s.ListRoleSessions(ctx, "r1"))) +
		len(ok[[]store.RoleSession](t, "list r2")(s.ListRoleSessions(ctx, "r2")))
	if total != workers {
		t.Errorf("stored %d sessions, want %d", total, workers)
	}
}

func testRoleSessionAtomicRollback(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	rs := roleSession(t, "r1", n, n.Add(time.Hour))
	boom := errors.New("boom")
	err := s.Atomic(ctx, func(tx store.Tx) error {
		if err := tx.CreateRoleSession(ctx, rs); err != nil {
			return err
		}
		if _, err := tx.GetRoleSession(ctx, rs.ID); err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		return boom
	})
	wantErr(t, "atomic", err, boom)
	_, err = s.GetRoleSession(ctx, rs.ID)
	wantErr(t, "rolled back session", err, store.ErrNotFound)
	if l := ok[[]store.RoleSession](t, "list")(s.ListRoleSessions(ctx, "r1")); len(l) != 0 {
		t.Errorf("rolled back session still indexed")
	}
}

func testFindRoleSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	mk := func(role, subject string, age time.Duration) store.RoleSession {
		rs := roleSession(t, role, n.Add(-age), n.Add(time.Hour-age))
		rs.Subject = subject
		noErr(t, "create", s.CreateRoleSession(ctx, rs))
		return rs
	}
	const alice, bob = "repo:acme/app:ref:refs/heads/main", "repo:acme/app:ref:refs/heads/dev"
	a1 := mk("r1", alice, time.Minute)
	a2 := mk("r2", alice, 2*time.Minute)
	aDead := mk("r1", alice, 2*time.Hour) // expired, kept until swept
	aRevoked := mk("r2", alice, 3*time.Minute)
	noErr(t, "revoke", s.RevokeRoleSession(ctx, aRevoked.ID))
	b1 := mk("r1", bob, 4*time.Minute)
	mk("r10", bob, 0) // r1 is a prefix of its role id

	ids := func(l []store.RoleSession) []string {
		out := make([]string, len(l))
		for i, x := range l {
			out[i] = x.ID
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    store.RoleSessionFilter
		want []string
	}{
		{"role", store.RoleSessionFilter{RoleID: "r1"}, []string{a1.ID, b1.ID, aDead.ID}},
		{"role live", store.RoleSessionFilter{RoleID: "r1", LiveAt: n}, []string{a1.ID, b1.ID}},
		{"subject", store.RoleSessionFilter{Subject: alice}, []string{a1.ID, a2.ID, aRevoked.ID, aDead.ID}},
		{"subject live", store.RoleSessionFilter{Subject: alice, LiveAt: n}, []string{a1.ID, a2.ID}},
		{"role and subject", store.RoleSessionFilter{RoleID: "r2", Subject: alice}, []string{a2.ID, aRevoked.ID}},
		{"nothing matches", store.RoleSessionFilter{Subject: "repo:other"}, []string{}},
		{"unknown role", store.RoleSessionFilter{RoleID: "r3"}, []string{}},
	} {
		l, err := s.FindRoleSessions(ctx, tc.f)
		if err != nil || l == nil {
			t.Errorf("%s: %v, %v; want a non-nil list", tc.name, l, err)
			continue
		}
		if got := ids(l); !equalStrings(got, tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}
	if all := ok[[]store.RoleSession](t, "find all")(s.FindRoleSessions(ctx, store.RoleSessionFilter{})); len(all) != 6 {
		t.Errorf("empty filter found %d sessions, want all 6", len(all))
	}
	// Inside a transaction too, seeing the transaction's own writes.
	late := roleSession(t, "r1", n.Add(time.Second), n.Add(time.Hour))
	late.Subject = bob
	err := s.Atomic(ctx, func(tx store.Tx) error {
		if err := tx.CreateRoleSession(ctx, late); err != nil {
			return err
		}
		l, err := tx.FindRoleSessions(ctx, store.RoleSessionFilter{Subject: bob, LiveAt: n})
		if err != nil {
			return err
		}
		if got := ids(l); len(got) != 3 || got[0] != late.ID {
			return fmt.Errorf("inside the transaction: %v, want %s first of 3", got, late.ID)
		}
		return nil
	})
	noErr(t, "atomic find", err)
}
