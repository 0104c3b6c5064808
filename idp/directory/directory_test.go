package directory

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/regulate"
	"github.com/portcullis-id/portcullis/store"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fakeSleep struct {
	mu    sync.Mutex
	calls []time.Duration
}

func (s *fakeSleep) Sleep(_ context.Context, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, d)
}

type fixture struct {
	st    *fakeStore
	rec   *recorder
	clock *fakeClock
	sleep *fakeSleep
	dir   *Directory
	alice store.User
}

const alicePassword = "violet kestrel harbour"

func newFixture(t *testing.T, mutate func(*Options)) *fixture {
	t.Helper()
	f := &fixture{
		st:    newFakeStore(),
		rec:   &recorder{},
		clock: &fakeClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)},
		sleep: &fakeSleep{},
	}
	opts := Options{
		Params:      cheapParams,
		Policy:      Policy{MinLength: 8, MaxLength: 64, Common: NewCommonList([]string{"password123"})},
		UserLimits:  regulate.Limits{MaxFailures: 3, Window: 10 * time.Minute, Lockout: 5 * time.Minute},
		IPLimits:    regulate.Limits{MaxFailures: 6, Window: 10 * time.Minute, Lockout: 30 * time.Minute},
		MinDuration: 200 * time.Millisecond,
		Now:         f.clock.Now,
		Rand:        rand.Reader,
		Sleep:       f.sleep.Sleep,
		Actor:       func(context.Context) string { return "admin" },
	}
	if mutate != nil {
		mutate(&opts)
	}
	f.dir = New(f.st, regulate.New(f.clock.Now), f.rec, opts)
	f.alice = f.st.addUser(store.User{ID: "u-alice", UserName: "Alice", Active: true})
	if err := f.dir.SetPassword(context.Background(), f.alice.ID, alicePassword, false); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	return f
}

func (f *fixture) auth(name, pw, ip string) (store.User, AuthResult, error) {
	return f.dir.Authenticate(context.Background(), name, pw, ip)
}

func TestAuthenticateOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		setup       func(*fixture)
		userName    string
		password    string
		wantErr     error
		wantOutcome string
		wantReason  string
		wantTarget  string
	}{
		{name: "correct password", userName: "alice", password: alicePassword,
			wantOutcome: audit.Success, wantTarget: "u-alice"},
		{name: "user name case-insensitive", userName: "ALICE", password: alicePassword,
			wantOutcome: audit.Success, wantTarget: "u-alice"},
		{name: "wrong password", userName: "alice", password: "violet kestrel harbor",
			wantErr: ErrInvalidCredentials, wantOutcome: audit.Failure, wantReason: "wrong password", wantTarget: "u-alice"},
		{name: "unknown user", userName: "mallory", password: alicePassword,
			wantErr: ErrInvalidCredentials, wantOutcome: audit.Failure, wantReason: "unknown user"},
		{name: "inactive user with correct password",
			setup: func(f *fixture) {
				u := f.alice
				u.Active = false
				if _, err := f.st.UpdateUser(context.Background(), u); err != nil {
					panic(err)
				}
			},
			userName: "alice", password: alicePassword,
			wantErr: ErrInvalidCredentials, wantOutcome: audit.Failure, wantReason: "inactive", wantTarget: "u-alice"},
		{name: "user without password",
			setup: func(f *fixture) {
				f.st.addUser(store.User{ID: "u-fed", UserName: "fed", Active: true, Source: "github"})
			},
			userName: "fed", password: alicePassword,
			wantErr: ErrInvalidCredentials, wantOutcome: audit.Failure, wantReason: "no password", wantTarget: "u-fed"},
		{name: "corrupt stored hash",
			setup: func(f *fixture) {
				c := f.st.cred("u-alice")
				c.Secret = []byte("$argon2id$v=19$m=4294967295,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
				c.Version = 0
				if _, err := f.st.PutCredential(context.Background(), c); err != nil {
					panic(err)
				}
			},
			userName: "alice", password: alicePassword,
			wantErr: ErrInvalidCredentials, wantOutcome: audit.Failure, wantReason: "unusable", wantTarget: "u-alice"},
		{name: "overlong password", userName: "alice", password: strings.Repeat("a", 1<<16),
			wantErr: ErrInvalidCredentials, wantOutcome: audit.Failure, wantReason: "too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			if tc.setup != nil {
				tc.setup(f)
			}
			u, _, err := f.auth(tc.userName, tc.password, "192.0.2.10")
			if tc.wantErr == nil {
				if err != nil || u.ID != "u-alice" {
					t.Fatalf("Authenticate = (%q, %v), want alice", u.ID, err)
				}
			} else {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Authenticate error = %v, want %v", err, tc.wantErr)
				}
				if errors.Is(err, ErrThrottled) {
					t.Fatalf("Authenticate error %v also matches ErrThrottled", err)
				}
				if u.ID != "" {
					t.Fatalf("failed Authenticate returned user %q", u.ID)
				}
				if strings.Contains(err.Error(), tc.password) {
					t.Fatalf("error %q contains the password", err)
				}
			}
			ev := f.rec.last()
			if ev.Action != ActionLoginPassword || ev.Outcome != tc.wantOutcome || ev.Target != tc.wantTarget ||
				ev.Actor != tc.userName && len(tc.userName) <= maxAuditActorLen || ev.SourceIP != "192.0.2.10" {
				t.Errorf("audit event = %+v, want action %s outcome %s target %q actor %q",
					ev, ActionLoginPassword, tc.wantOutcome, tc.wantTarget, tc.userName)
			}
			if !strings.Contains(ev.Reason, tc.wantReason) {
				t.Errorf("audit reason = %q, want it to contain %q", ev.Reason, tc.wantReason)
			}
		})
	}
}

// Unknown user and wrong password must be indistinguishable to the caller: same
// error value and message, same padded duration.
func TestUnknownUserIndistinguishableFromWrongPassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	_, _, errWrong := f.auth("alice", "not the password", "192.0.2.1")
	_, _, errUnknown := f.auth("nobody", "not the password", "192.0.2.2")
	if errWrong == nil || errUnknown == nil {
		t.Fatalf("errors = %v, %v; want both non-nil", errWrong, errUnknown)
	}
	if errWrong.Error() != errUnknown.Error() || !errors.Is(errWrong, ErrInvalidCredentials) || !errors.Is(errUnknown, ErrInvalidCredentials) {
		t.Fatalf("wrong password gives %q, unknown user gives %q", errWrong, errUnknown)
	}
	if len(f.sleep.calls) != 2 || f.sleep.calls[0] != f.sleep.calls[1] {
		t.Fatalf("padding = %v, want two equal sleeps", f.sleep.calls)
	}
}

func TestAuthenticateMinDurationHonoured(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.auth("alice", alicePassword, "192.0.2.1")
	f.auth("alice", "wrong password!", "192.0.2.1")
	f.auth("ghost", "whatever pass", "192.0.2.1")
	want := []time.Duration{200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond}
	if fmt.Sprint(f.sleep.calls) != fmt.Sprint(want) {
		t.Fatalf("sleeps = %v, want %v", f.sleep.calls, want)
	}
}

// slowClockStore advances the fake clock on each user lookup, standing in for time
// spent in the store and argon2id.
type slowClockStore struct {
	*fakeStore
	clock *fakeClock
	step  time.Duration
}

func (s *slowClockStore) GetUserByName(ctx context.Context, name string) (store.User, error) {
	s.clock.Advance(s.step)
	return s.fakeStore.GetUserByName(ctx, name)
}

func TestAuthenticateSleepsOnlyTheRemainder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	slow := &slowClockStore{fakeStore: f.st, clock: f.clock, step: 150 * time.Millisecond}
	dir := New(slow, nil, f.rec, f.dir.opts)
	dir.Authenticate(context.Background(), "alice", alicePassword, "")
	slow.step = 300 * time.Millisecond
	dir.Authenticate(context.Background(), "alice", alicePassword, "")
	if len(f.sleep.calls) != 1 || f.sleep.calls[0] != 50*time.Millisecond {
		t.Fatalf("sleeps = %v, want [50ms] (nothing once the work exceeded MinDuration)", f.sleep.calls)
	}
}

func TestRealSleepHonoursContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	sleepCtx(ctx, time.Hour)
	if time.Since(start) > time.Second {
		t.Fatal("sleepCtx ignored a cancelled context")
	}
}

func TestLockoutRefusesCorrectPasswordUntilItEnds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for i := range 3 {
		if _, _, err := f.auth("alice", "wrong guess "+fmt.Sprint(i), fmt.Sprintf("198.51.100.%d", i)); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	_, _, err := f.auth("Alice", alicePassword, "203.0.113.9")
	if !errors.Is(err, ErrThrottled) || errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("correct password during lockout: %v, want ErrThrottled only", err)
	}
	var te *regulate.ThrottledError
	if !errors.As(err, &te) || te.Scope != regulate.ScopeUser || te.RetryAfter != 5*time.Minute {
		t.Fatalf("throttled error = %+v, want user scope, 5m", te)
	}
	if ev := f.rec.last(); ev.Outcome != audit.Denied {
		t.Fatalf("audit outcome = %q, want denied", ev.Outcome)
	}
	f.clock.Advance(5 * time.Minute)
	if _, _, err := f.auth("alice", alicePassword, "203.0.113.9"); err != nil {
		t.Fatalf("after lockout: %v", err)
	}
}

func TestUnknownUserIsLockedOutToo(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for i := range 3 {
		f.auth("ghost", "guess", fmt.Sprintf("198.51.100.%d", i))
	}
	if _, _, err := f.auth("ghost", "guess", "198.51.100.77"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("unknown user after 3 failures: %v, want ErrThrottled (no enumeration by lockout)", err)
	}
}

func TestIPThrottleAcrossUserNames(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	// Six failures from one /64, each against a different user name and address.
	for i := range 6 {
		ip := fmt.Sprintf("2001:db8:1:2::%x", i+1)
		if _, _, err := f.auth(fmt.Sprintf("user%d", i), "spray-password", ip); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("spray %d: %v", i, err)
		}
	}
	_, _, err := f.auth("alice", alicePassword, "2001:db8:1:2::ffff")
	var te *regulate.ThrottledError
	if !errors.As(err, &te) || te.Scope != regulate.ScopeIP {
		t.Fatalf("from the spraying /64: %v, want IP throttle", err)
	}
	if _, _, err := f.auth("alice", alicePassword, "2001:db8:1:3::1"); err != nil {
		t.Fatalf("from another /64: %v", err)
	}
}

func TestSuccessDoesNotResetIPCount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	const ip = "192.0.2.50"
	for i := range 5 {
		f.auth(fmt.Sprintf("victim%d", i), "spray-password", ip)
	}
	if _, _, err := f.auth("alice", alicePassword, ip); err != nil {
		t.Fatalf("valid sign-in: %v", err)
	}
	f.auth("victim9", "spray-password", ip) // sixth failure
	if _, _, err := f.auth("alice", alicePassword, ip); !errors.Is(err, ErrThrottled) {
		t.Fatalf("after 6 failures with a success between: %v, want IP throttle", err)
	}
}

func TestSuccessResetsUserCount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.auth("alice", "wrong one", "192.0.2.1")
	f.auth("alice", "wrong two", "192.0.2.1")
	if _, _, err := f.auth("alice", alicePassword, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	f.auth("alice", "wrong three", "192.0.2.1")
	f.auth("alice", "wrong four", "192.0.2.1")
	if _, _, err := f.auth("alice", alicePassword, "192.0.2.1"); err != nil {
		t.Fatalf("success did not reset the user count: %v", err)
	}
}

func TestRehashOnParameterChange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	old := string(f.st.cred("u-alice").Secret)
	stronger := cheapParams
	stronger.Memory, stronger.Time = 128, 2
	opts := f.dir.opts
	opts.Params = stronger
	dir := New(f.st, nil, f.rec, opts)

	if _, _, err := dir.Authenticate(context.Background(), "alice", alicePassword, ""); err != nil {
		t.Fatalf("Authenticate with old hash: %v", err)
	}
	c := f.st.cred("u-alice")
	h, err := ParsePHC(string(c.Secret))
	if err != nil || string(c.Secret) == old || h.Params != stronger {
		t.Fatalf("stored hash %q (params %+v, %v), want rehashed with %+v", c.Secret, h.Params, err, stronger)
	}
	if f.rec.last().Details["rehashed"] != "true" {
		t.Errorf("audit details = %v, want rehashed=true", f.rec.last().Details)
	}
	puts := f.st.puts
	if _, _, err := dir.Authenticate(context.Background(), "alice", alicePassword, ""); err != nil {
		t.Fatalf("Authenticate with new hash: %v", err)
	}
	if f.st.puts != puts {
		t.Error("hash rewritten although parameters already match")
	}
}

func TestRehashFailureStillSignsIn(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	opts := f.dir.opts
	opts.Params.Time = 2
	dir := New(f.st, nil, f.rec, opts)
	f.st.putErr = fmt.Errorf("put: %w", store.ErrConflict)
	if _, _, err := dir.Authenticate(context.Background(), "alice", alicePassword, ""); err != nil {
		t.Fatalf("Authenticate with conflicting rehash: %v", err)
	}
	if f.rec.last().Details["rehashed"] != "false" {
		t.Errorf("audit details = %v, want rehashed=false", f.rec.last().Details)
	}
}

func TestUnnormalisedImportedHashVerifiesAndIsRehashed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	// "e" + combining acute: NFKC composes it to U+00E9, so the raw bytes differ.
	raw := "cafe\u0301 au lait"
	phc, err := Hash(raw, cheapParams, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.dir.SetPasswordHash(context.Background(), "u-alice", phc, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.auth("alice", raw, ""); err != nil {
		t.Fatalf("raw-form hash refused: %v", err)
	}
	if string(f.st.cred("u-alice").Secret) == phc {
		t.Fatal("raw-form hash was not replaced by the normalised one")
	}
	// Either form now matches the normalised hash.
	if _, _, err := f.auth("alice", "caf\u00e9 au lait", ""); err != nil {
		t.Fatalf("composed form refused after rehash: %v", err)
	}
}

func TestMustChangePasswordReported(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	if err := f.dir.SetPassword(context.Background(), "u-alice", "temporary lantern 7", true); err != nil {
		t.Fatal(err)
	}
	_, res, err := f.auth("alice", "temporary lantern 7", "")
	if err != nil || !res.MustChangePassword {
		t.Fatalf("Authenticate = (%+v, %v), want MustChangePassword", res, err)
	}
}

func TestStoreOutageIsNotInvalidCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.st.getUserErr = errors.New("disk on fire")
	_, _, err := f.auth("alice", alicePassword, "192.0.2.1")
	if err == nil || errors.Is(err, ErrInvalidCredentials) || errors.Is(err, ErrThrottled) {
		t.Fatalf("store outage = %v, want a distinct internal error", err)
	}
	// Outages do not count against the user.
	for range 5 {
		f.auth("alice", alicePassword, "192.0.2.1")
	}
	f.st.getUserErr = nil
	if _, _, err := f.auth("alice", alicePassword, "192.0.2.1"); err != nil {
		t.Fatalf("after outage: %v", err)
	}
}

func TestSetPassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		userID   string
		password string
		wantErr  error
	}{
		{"good", "u-alice", "saffron quay 42", nil},
		{"too short", "u-alice", "short", ErrPasswordPolicy},
		{"common", "u-alice", "Password123", ErrPasswordPolicy},
		{"contains user name", "u-alice", "alice-in-wonderland", ErrPasswordPolicy},
		{"unknown user", "u-nobody", "saffron quay 42", store.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			before := string(f.st.cred("u-alice").Secret)
			err := f.dir.SetPassword(context.Background(), tc.userID, tc.password, false)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("SetPassword = %v, want %v", err, tc.wantErr)
			}
			ev := f.rec.last()
			if ev.Action != ActionPasswordSet || ev.Actor != "admin" || ev.Target != tc.userID {
				t.Errorf("audit event = %+v", ev)
			}
			if tc.wantErr != nil {
				if ev.Outcome != audit.Failure {
					t.Errorf("audit outcome = %q, want failure", ev.Outcome)
				}
				if string(f.st.cred("u-alice").Secret) != before {
					t.Error("refused password was stored")
				}
				return
			}
			if ev.Outcome != audit.Success {
				t.Errorf("audit outcome = %q, want success", ev.Outcome)
			}
			if _, _, err := f.auth("alice", tc.password, ""); err != nil {
				t.Errorf("new password refused: %v", err)
			}
			if strings.Contains(fmt.Sprint(f.rec.events), tc.password) {
				t.Error("an audit event contains the plaintext password")
			}
		})
	}
}

func TestSetPasswordHash(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	hostile := "$argon2id$v=19$m=4294967295,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	if err := f.dir.SetPasswordHash(ctx, "u-alice", hostile, false); !errors.Is(err, ErrInvalidHash) {
		t.Fatalf("hostile hash: %v, want ErrInvalidHash", err)
	}
	if err := f.dir.CheckHash(hostile); !errors.Is(err, ErrInvalidHash) {
		t.Fatalf("CheckHash(hostile) = %v", err)
	}
	phc, err := f.dir.HashPassword("imported secret 1")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.dir.CheckHash(phc); err != nil {
		t.Fatalf("CheckHash(own hash) = %v", err)
	}
	if err := f.dir.SetPasswordHash(ctx, "u-nobody", phc, false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if err := f.dir.SetPasswordHash(ctx, "u-alice", phc, true); err != nil {
		t.Fatal(err)
	}
	if ev := f.rec.last(); ev.Action != ActionPasswordSetHash || ev.Outcome != audit.Success {
		t.Errorf("audit event = %+v", ev)
	}
	if _, res, err := f.auth("alice", "imported secret 1", ""); err != nil || !res.MustChangePassword {
		t.Fatalf("imported hash: (%+v, %v)", res, err)
	}
	if err := f.dir.CheckPolicy("password123", "bob"); !errors.Is(err, ErrPasswordPolicy) {
		t.Errorf("CheckPolicy = %v", err)
	}
}

func TestGroupNamesSorted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.st.groups = []store.Group{
		{ID: "g1", DisplayName: "ops", Members: []string{"u-alice"}},
		{ID: "g2", DisplayName: "admins", Members: []string{"u-alice", "u-bob"}},
		{ID: "g3", DisplayName: "finance", Members: []string{"u-bob"}},
		{ID: "g4", DisplayName: "Devs", Members: []string{"u-alice"}},
	}
	got, err := f.dir.GroupNames(context.Background(), "u-alice")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[Devs admins ops]" {
		t.Fatalf("GroupNames = %v", got)
	}
	none, err := f.dir.GroupNames(context.Background(), "u-nobody")
	if err != nil || none == nil || len(none) != 0 {
		t.Fatalf("GroupNames(no groups) = %#v, %v; want empty non-nil", none, err)
	}
}

func TestDeactivateRevokesAndRetriesConflicts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.st.updateConflicts = 2
	if err := f.dir.Deactivate(context.Background(), "u-alice"); err != nil {
		t.Fatalf("Deactivate: %v", err)
	}
	u, _ := f.st.GetUser(context.Background(), "u-alice")
	if u.Active {
		t.Fatal("user still active")
	}
	if fmt.Sprint(f.st.revokedSessions, f.st.revokedRefreshes) != "[u-alice] [u-alice]" {
		t.Fatalf("revoked sessions %v, refresh tokens %v", f.st.revokedSessions, f.st.revokedRefreshes)
	}
	ev := f.rec.last()
	if ev.Action != ActionUserDeactivate || ev.Outcome != audit.Success || ev.Target != "u-alice" || ev.Details["refresh_families_revoked"] != "2" {
		t.Errorf("audit event = %+v", ev)
	}
	if _, _, err := f.auth("alice", alicePassword, ""); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("deactivated user signed in: %v", err)
	}
	// Idempotent: a second call still revokes.
	if err := f.dir.Deactivate(context.Background(), "u-alice"); err != nil {
		t.Fatalf("second Deactivate: %v", err)
	}
}

func TestDeactivateGivesUpAfterPersistentConflicts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.st.updateConflicts = 100
	err := f.dir.Deactivate(context.Background(), "u-alice")
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Deactivate = %v, want ErrConflict", err)
	}
	if len(f.st.revokedSessions) != 0 {
		t.Error("revoked sessions without storing the inactive flag")
	}
	if ev := f.rec.last(); ev.Outcome != audit.Failure {
		t.Errorf("audit outcome = %q, want failure", ev.Outcome)
	}
	if err := f.dir.Deactivate(context.Background(), "u-nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Deactivate(unknown) = %v, want ErrNotFound", err)
	}
}

func TestAuditActorTruncated(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	name := strings.Repeat("é", 1000)
	f.auth(name, "whatever pass", "")
	if a := f.rec.last().Actor; len(a) > maxAuditActorLen || !strings.HasPrefix(name, a) {
		t.Fatalf("actor is %d bytes, want <= %d and a prefix", len(a), maxAuditActorLen)
	}
}

func TestIPKeyID(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"192.0.2.7", "192.0.2.7"},
		{"192.0.2.7:4431", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:a:b:1:2:3:4", "2001:db8:a:b::/64"},
		{"[2001:db8:a:b::9]:443", "2001:db8:a:b::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not-an-ip", "not-an-ip"},
	}
	for _, tc := range tests {
		if got := ipKeyID(tc.in); got != tc.want {
			t.Errorf("ipKeyID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	if err := (Options{}).Validate(); err != nil {
		t.Fatalf("zero Options (defaults) invalid: %v", err)
	}
	bad := Options{
		Params:     Params{Memory: 1 << 30, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		Policy:     Policy{MinLength: 20, MaxLength: 10},
		UserLimits: regulate.Limits{MaxFailures: 5},
	}
	err := bad.Validate()
	for _, want := range []string{"params", "policy.max_length", "user_limits"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to name %s", err, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted invalid options")
		}
	}()
	New(newFakeStore(), nil, nil, bad)
}
