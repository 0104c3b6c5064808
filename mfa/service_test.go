package mfa_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/regulate"
	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/mfa/recovery"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/store/bolt"
)

// fakeMethod accepts the response "good" (and "warn", with a warning); "boom" fails as
// a broken store would; anything else is ErrInvalid.
type fakeMethod struct {
	typ   string
	calls atomic.Int32

	mu        sync.Mutex
	factors   map[string][]mfa.Factor // by user id
	removeErr error
}

func newFake(typ string) *fakeMethod {
	return &fakeMethod{typ: typ, factors: map[string][]mfa.Factor{}}
}

func (f *fakeMethod) add(userID, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.factors[userID] = append(f.factors[userID], mfa.Factor{ID: id, Type: f.typ, Name: id})
}

func (f *fakeMethod) Type() string { return f.typ }

func (f *fakeMethod) BeginEnroll(context.Context, store.User, string) (mfa.Enrollment, error) {
	return mfa.Enrollment{}, errors.New("not used")
}

func (f *fakeMethod) FinishEnroll(context.Context, store.User, string, []byte) (mfa.Factor, error) {
	return mfa.Factor{}, errors.New("not used")
}

func (f *fakeMethod) BeginVerify(context.Context, store.User) (mfa.Challenge, error) {
	return mfa.Challenge{}, nil
}

func (f *fakeMethod) FinishVerify(_ context.Context, _ store.User, _ string, response []byte) (mfa.Result, error) {
	f.calls.Add(1)
	return f.check(string(response))
}

func (f *fakeMethod) check(response string) (mfa.Result, error) {
	switch response {
	case "good":
		return mfa.Result{FactorID: f.typ + "-1", AMR: []string{"otp"}}, nil
	case "warn":
		return mfa.Result{FactorID: f.typ + "-1", AMR: []string{"hwk"}, Warning: "sign count went backwards"}, nil
	case "clone":
		return mfa.Result{FactorID: f.typ + "-1", Warning: "sign count went backwards"}, mfa.ErrInvalid
	case "boom":
		return mfa.Result{}, errors.New("store unavailable")
	}
	return mfa.Result{}, mfa.ErrInvalid
}

func (f *fakeMethod) List(_ context.Context, userID string) ([]mfa.Factor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.factors[userID]), nil
}

func (f *fakeMethod) Rename(context.Context, string, string, string) error { return nil }

func (f *fakeMethod) Remove(_ context.Context, userID, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.removeErr != nil {
		return f.removeErr
	}
	i := slices.IndexFunc(f.factors[userID], func(x mfa.Factor) bool { return x.ID == id })
	if i < 0 {
		return mfa.ErrNotEnrolled
	}
	f.factors[userID] = slices.Delete(f.factors[userID], i, i+1)
	return nil
}

// fakePasskeys is a discoverable fake: the response is "good:<user name>".
type fakePasskeys struct {
	*fakeMethod
	users map[string]store.User
}

func (f *fakePasskeys) BeginDiscoverable(context.Context) (mfa.Challenge, error) {
	return mfa.Challenge{ID: "c"}, nil
}

func (f *fakePasskeys) FinishDiscoverable(_ context.Context, _ string, response []byte) (store.User, mfa.Result, error) {
	f.calls.Add(1)
	name, ok := strings.CutPrefix(string(response), "good:")
	u, known := f.users[name]
	if !ok || !known {
		return store.User{}, mfa.Result{}, mfa.ErrInvalid
	}
	return u, mfa.Result{FactorID: "pk-" + name, AMR: []string{"hwk", "user"}, UserVerified: true}, nil
}

type recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *recorder) Record(_ context.Context, e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) take() []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

var (
	alice = store.User{ID: "u-alice", UserName: "alice"}
	bob   = store.User{ID: "u-bob", UserName: "bob"}
)

type harness struct {
	svc   *mfa.Service
	totp  *fakeMethod
	webau *fakeMethod
	rec   *recorder
	clock *clock
}

func newHarness(t *testing.T, opts mfa.ServiceOptions) *harness {
	t.Helper()
	h := &harness{totp: newFake(mfa.TypeTOTP), webau: newFake(mfa.TypeWebAuthn), rec: &recorder{}, clock: newClock()}
	if opts.Methods == nil {
		opts.Methods = []mfa.Method{h.totp, h.webau}
	}
	opts.Audit = h.rec
	opts.Now = h.clock.Now
	opts.Regulator = regulate.New(h.clock.Now)
	h.svc = mfa.NewService(opts)
	return h
}

var (
	threeStrikes = regulate.Limits{MaxFailures: 3, Window: time.Minute, Lockout: time.Minute}
	roomy        = regulate.Limits{MaxFailures: 100, Window: time.Minute, Lockout: time.Minute}
)

func TestVerifySuccessAuditsAndClearsUserFailures(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := newHarness(t, mfa.ServiceOptions{UserLimits: threeStrikes, IPLimits: roomy})
	for range 2 {
		if _, err := h.svc.Verify(ctx, alice, mfa.TypeTOTP, "", []byte("bad"), "192.0.2.1"); !errors.Is(err, mfa.ErrInvalid) {
			t.Fatalf("wrong code: err = %v, want ErrInvalid", err)
		}
	}
	res, err := h.svc.Verify(ctx, alice, mfa.TypeTOTP, "", []byte("good"), "192.0.2.1")
	if err != nil || res.FactorID != "totp-1" {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	evs := h.rec.take()
	if len(evs) != 3 {
		t.Fatalf("audited %d events, want 3: %+v", len(evs), evs)
	}
	for i, want := range []string{audit.Failure, audit.Failure, audit.Success} {
		e := evs[i]
		if e.Action != "login.mfa" || e.Outcome != want || e.Actor != "alice" || e.Target != "u-alice" ||
			e.SourceIP != "192.0.2.1" || e.Details["method"] != "totp" {
			t.Errorf("event %d = %+v, want login.mfa %s by alice on u-alice via totp", i, e, want)
		}
	}
	if evs[2].Details["factor"] != "totp-1" {
		t.Errorf("success event names factor %q", evs[2].Details["factor"])
	}
	// The success cleared the two failures: two more do not lock the user.
	for range 2 {
		h.svc.Verify(ctx, alice, mfa.TypeTOTP, "", []byte("bad"), "192.0.2.1")
	}
	if _, err := h.svc.Verify(ctx, alice, mfa.TypeTOTP, "", []byte("good"), "192.0.2.1"); err != nil {
		t.Fatalf("Verify after a success and two failures: %v", err)
	}
}

func TestVerifyLocksUserAfterLimitWithoutCallingMethod(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := newHarness(t, mfa.ServiceOptions{UserLimits: threeStrikes, IPLimits: roomy})
	for i := range 3 {
		// Failures from different addresses, and across methods, all count for alice.
		typ := []string{mfa.TypeTOTP, mfa.TypeWebAuthn, mfa.TypeRecovery}[i]
		if _, err := h.svc.Verify(ctx, alice, typ, "", []byte("bad"), "192.0.2."+string(rune('1'+i))); err == nil {
			t.Fatalf("wrong response accepted")
		}
	}
	calls := h.totp.calls.Load()
	_, err := h.svc.Verify(ctx, alice, mfa.TypeTOTP, "", []byte("good"), "198.51.100.7")
	var te *mfa.ThrottledError
	if !errors.As(err, &te) || !errors.Is(err, mfa.ErrThrottled) {
		t.Fatalf("Verify while locked: err = %v, want *ThrottledError", err)
	}
	if te.RetryAfter != time.Minute {
		t.Fatalf("RetryAfter = %v, want 1m", te.RetryAfter)
	}
	if h.totp.calls.Load() != calls {
		t.Fatalf("the method was called while the user was locked")
	}
	evs := h.rec.take()
	if last := evs[len(evs)-1]; last.Outcome != audit.Denied || last.Reason != "throttled" {
		t.Fatalf("throttled attempt audited as %+v", last)
	}
	// Bob is not affected; alice is again once the lock ends.
	if _, err := h.svc.Verify(ctx, bob, mfa.TypeTOTP, "", []byte("good"), "198.51.100.7"); err != nil {
		t.Fatalf("another user: %v", err)
	}
	h.clock.Advance(time.Minute)
	if _, err := h.svc.Verify(ctx, alice, mfa.TypeTOTP, "", []byte("good"), "198.51.100.7"); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
}

func TestVerifyLocksSourceAddressAcrossUsers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := newHarness(t, mfa.ServiceOptions{UserLimits: roomy, IPLimits: threeStrikes})
	// Three addresses of one IPv6 /64 count as one source.
	for i, ip := range []string{"2001:db8::1", "2001:db8::2", "[2001:db8::ffff]:443"} {
		u := store.User{ID: "u" + string(rune('0'+i)), UserName: "n"}
		h.svc.Verify(ctx, u, mfa.TypeTOTP, "", []byte("bad"), ip)
	}
	_, err := h.svc.Verify(ctx, alice, mfa.TypeTOTP, "", []byte("good"), "2001:db8::99")
	if !errors.Is(err, mfa.ErrThrottled) {
		t.Fatalf("fourth user from the same /64: err = %v, want ErrThrottled", err)
	}
	if _, err := h.svc.Verify(ctx, alice, mfa.TypeTOTP, "", []byte("good"), "2001:db8:0:1::1"); err != nil {
		t.Fatalf("from another /64: %v", err)
	}
	// A success does not reset the address's count.
	if _, err := h.svc.Verify(ctx, alice, mfa.TypeTOTP, "", []byte("good"), "2001:db8::99"); !errors.Is(err, mfa.ErrThrottled) {
		t.Fatalf("address unlocked by someone else's success: err = %v", err)
	}
}

func TestVerifyInternalErrorIsNotCountedAsFailure(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := newHarness(t, mfa.ServiceOptions{UserLimits: threeStrikes, IPLimits: threeStrikes})
	for range 5 {
		_, err := h.svc.Verify(ctx, alice, mfa.TypeTOTP, "", []byte("boom"), "192.0.2.1")
		if err == nil || errors.Is(err, mfa.ErrThrottled) {
			t.Fatalf("store failure: err = %v, want it passed through", err)
		}
	}
	if _, err := h.svc.Verify(ctx, alice, mfa.TypeTOTP, "", []byte("good"), "192.0.2.1"); err != nil {
		t.Fatalf("after five store failures: %v (an outage must not lock users out)", err)
	}
	if evs := h.rec.take(); evs[0].Outcome != audit.Failure || evs[0].Reason != "error" {
		t.Fatalf("store failure audited as %+v", evs[0])
	}
}

func TestVerifyUnknownMethodIsNotEnrolledAndCounted(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := newHarness(t, mfa.ServiceOptions{UserLimits: threeStrikes, IPLimits: roomy})
	long := string(make([]byte, 4096))
	for range 3 {
		if _, err := h.svc.Verify(ctx, alice, long, "", []byte("good"), ""); !errors.Is(err, mfa.ErrNotEnrolled) {
			t.Fatalf("unknown method: err = %v, want ErrNotEnrolled", err)
		}
	}
	if _, err := h.svc.Verify(ctx, alice, mfa.TypeTOTP, "", []byte("good"), ""); !errors.Is(err, mfa.ErrThrottled) {
		t.Fatalf("after three unknown-method attempts: err = %v, want ErrThrottled", err)
	}
	if m := h.rec.take()[0].Details["method"]; m != "unknown" {
		t.Fatalf("audited method %q, want \"unknown\" (request input kept out of the trail)", m)
	}
}

func TestVerifyWarningIsAudited(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := newHarness(t, mfa.ServiceOptions{})
	res, err := h.svc.Verify(ctx, alice, mfa.TypeWebAuthn, "c", []byte("warn"), "192.0.2.1")
	if err != nil || res.Warning == "" {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	evs := h.rec.take()
	if len(evs) != 2 || evs[0].Action != "login.mfa" || evs[0].Outcome != audit.Success {
		t.Fatalf("events = %+v, want a success and a warning", evs)
	}
	w := evs[1]
	if w.Action != "mfa.warning" || w.Reason != "sign count went backwards" || w.Target != "u-alice" || w.Details["factor"] != "webauthn-1" {
		t.Fatalf("warning event = %+v", w)
	}
}

func TestRefusalWarningIsAudited(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := newHarness(t, mfa.ServiceOptions{})
	if _, err := h.svc.Verify(ctx, alice, mfa.TypeWebAuthn, "c", []byte("clone"), "192.0.2.1"); !errors.Is(err, mfa.ErrInvalid) {
		t.Fatalf("Verify = %v, want ErrInvalid", err)
	}
	var warned bool
	for _, e := range h.rec.take() {
		if e.Action == "mfa.warning" && e.Outcome == audit.Denied && e.Details["factor"] == "webauthn-1" {
			warned = true
		}
	}
	if !warned {
		t.Fatal("a refused verification's warning was not audited")
	}
}

func newRecovery(t *testing.T) (*recovery.Codes, *bolt.Store) {
	t.Helper()
	st, err := bolt.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	for _, u := range []store.User{alice, bob} {
		if _, err := st.CreateUser(t.Context(), u); err != nil {
			t.Fatalf("create user: %v", err)
		}
	}
	return recovery.New(st, recovery.Options{}), st
}

func TestVerifyRecoveryCode(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	codes, _ := newRecovery(t)
	h := newHarness(t, mfa.ServiceOptions{Recovery: codes})
	set, err := codes.Generate(ctx, alice.ID)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	res, err := h.svc.Verify(ctx, alice, mfa.TypeRecovery, "", []byte(set[0]), "192.0.2.1")
	if err != nil {
		t.Fatalf("Verify recovery code: %v", err)
	}
	if !slices.Equal(res.AMR, []string{mfa.AMRRecovery}) || res.FactorID != mfa.TypeRecovery {
		t.Fatalf("Result = %+v", res)
	}
	if _, err := h.svc.Verify(ctx, alice, mfa.TypeRecovery, "", []byte(set[0]), "192.0.2.1"); !errors.Is(err, mfa.ErrInvalid) {
		t.Fatalf("spent recovery code again: err = %v, want ErrInvalid", err)
	}
	if _, err := h.svc.Verify(ctx, bob, mfa.TypeRecovery, "", []byte(set[1]), "192.0.2.1"); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("alice's code for bob: err = %v, want ErrNotEnrolled", err)
	}
	evs := h.rec.take()
	if evs[0].Outcome != audit.Success || evs[0].Details["remaining"] != "9" || evs[0].Details["method"] != "recovery" {
		t.Fatalf("success event = %+v, want remaining 9", evs[0])
	}
	if evs[1].Outcome != audit.Failure || evs[1].Reason != "invalid" {
		t.Fatalf("replay event = %+v", evs[1])
	}
}

func TestVerifyRecoveryWithoutStoreIsNotEnrolled(t *testing.T) {
	t.Parallel()
	h := newHarness(t, mfa.ServiceOptions{})
	if _, err := h.svc.Verify(t.Context(), alice, mfa.TypeRecovery, "", []byte("00000-00000"), ""); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("err = %v, want ErrNotEnrolled", err)
	}
}

func TestFactorsAndEnrolled(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	codes, _ := newRecovery(t)
	h := newHarness(t, mfa.ServiceOptions{Recovery: codes})
	if m, ok := h.svc.Method(mfa.TypeTOTP); !ok || m != mfa.Method(h.totp) {
		t.Fatalf("Method(totp) = %v, %v", m, ok)
	}
	if _, ok := h.svc.Method("sms"); ok {
		t.Fatalf("Method(sms) found something")
	}

	if ok, err := h.svc.Enrolled(ctx, alice.ID); err != nil || ok {
		t.Fatalf("Enrolled with nothing = %v, %v", ok, err)
	}
	if _, err := codes.Generate(ctx, alice.ID); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if ok, _ := h.svc.Enrolled(ctx, alice.ID); ok {
		t.Fatalf("recovery codes alone count as enrolled")
	}
	h.webau.add(alice.ID, "key")
	h.totp.add(alice.ID, "phone")
	if ok, err := h.svc.Enrolled(ctx, alice.ID); err != nil || !ok {
		t.Fatalf("Enrolled = %v, %v; want true", ok, err)
	}
	fs, err := h.svc.Factors(ctx, alice.ID)
	if err != nil {
		t.Fatalf("Factors: %v", err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Type+":"+f.Name)
	}
	want := []string{"totp:phone", "webauthn:key", "recovery:Recovery codes (10 left)"}
	if !slices.Equal(got, want) {
		t.Fatalf("Factors = %v, want %v", got, want)
	}
	if fs, _ := h.svc.Factors(ctx, bob.ID); len(fs) != 0 {
		t.Fatalf("Factors of a user with none = %v", fs)
	}
	if n, err := h.svc.RecoveryCodesLeft(ctx, alice.ID); err != nil || n != 10 {
		t.Fatalf("RecoveryCodesLeft = %d, %v; want 10", n, err)
	}
}

func TestVerifyDiscoverable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pk := &fakePasskeys{fakeMethod: newFake(mfa.TypeWebAuthn), users: map[string]store.User{"alice": alice, "bob": bob}}
	totp := newFake(mfa.TypeTOTP)
	h := newHarness(t, mfa.ServiceOptions{Methods: []mfa.Method{totp, pk}, UserLimits: threeStrikes, IPLimits: threeStrikes})

	if _, _, err := h.svc.VerifyDiscoverable(ctx, mfa.TypeTOTP, "c", []byte("good"), "192.0.2.1"); !errors.Is(err, mfa.ErrNotDiscoverable) {
		t.Fatalf("TOTP as discoverable: err = %v, want ErrNotDiscoverable", err)
	}
	u, res, err := h.svc.VerifyDiscoverable(ctx, mfa.TypeWebAuthn, "c", []byte("good:alice"), "192.0.2.1")
	if err != nil || u.ID != alice.ID || !res.UserVerified {
		t.Fatalf("VerifyDiscoverable = %v, %+v, %v", u, res, err)
	}
	if e := h.rec.take()[0]; e.Outcome != audit.Success || e.Actor != "alice" || e.Target != alice.ID || e.Details["discoverable"] != "true" {
		t.Fatalf("success event = %+v", e)
	}

	// Bob's second factor is locked: a valid passkey is refused after identification.
	for range 3 {
		h.svc.Verify(ctx, bob, mfa.TypeTOTP, "", []byte("bad"), "198.51.100.1")
	}
	if _, _, err := h.svc.VerifyDiscoverable(ctx, mfa.TypeWebAuthn, "c", []byte("good:bob"), "192.0.2.1"); !errors.Is(err, mfa.ErrThrottled) {
		t.Fatalf("locked user's passkey: err = %v, want ErrThrottled", err)
	}
	if e := h.rec.take(); e[len(e)-1].Outcome != audit.Denied || e[len(e)-1].Target != bob.ID {
		t.Fatalf("denied event = %+v", e[len(e)-1])
	}

	// Unidentified failures count against the address; once locked, the method is not
	// even asked.
	for range 3 {
		if _, _, err := h.svc.VerifyDiscoverable(ctx, mfa.TypeWebAuthn, "c", []byte("forged"), "203.0.113.9"); !errors.Is(err, mfa.ErrInvalid) {
			t.Fatalf("forged assertion: err = %v, want ErrInvalid", err)
		}
	}
	calls := pk.calls.Load()
	if _, _, err := h.svc.VerifyDiscoverable(ctx, mfa.TypeWebAuthn, "c", []byte("good:alice"), "203.0.113.9"); !errors.Is(err, mfa.ErrThrottled) {
		t.Fatalf("locked address: err = %v, want ErrThrottled", err)
	}
	if pk.calls.Load() != calls {
		t.Fatalf("the method was called from a locked address")
	}
}

func TestResetRemovesEveryFactorAndRecoveryCodes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	codes, _ := newRecovery(t)
	h := newHarness(t, mfa.ServiceOptions{Recovery: codes})
	h.totp.add(alice.ID, "phone")
	h.totp.add(alice.ID, "tablet")
	h.webau.add(alice.ID, "key")
	h.totp.add(bob.ID, "bobs-phone")
	if _, err := codes.Generate(ctx, alice.ID); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if err := h.svc.Reset(ctx, alice.ID, "admin"); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if fs, _ := h.svc.Factors(ctx, alice.ID); len(fs) != 0 {
		t.Fatalf("factors left after Reset: %v", fs)
	}
	if fs, _ := h.svc.Factors(ctx, bob.ID); len(fs) != 1 {
		t.Fatalf("Reset of alice touched bob: %v", fs)
	}
	e := h.rec.take()[0]
	if e.Action != "mfa.reset" || e.Actor != "admin" || e.Target != alice.ID || e.Outcome != audit.Success || e.Details["factors_removed"] != "3" {
		t.Fatalf("reset event = %+v", e)
	}
}

func TestResetCarriesOnPastAFailure(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	codes, _ := newRecovery(t)
	h := newHarness(t, mfa.ServiceOptions{Recovery: codes})
	h.totp.add(alice.ID, "phone")
	h.totp.removeErr = errors.New("disk full")
	h.webau.add(alice.ID, "key")
	if _, err := codes.Generate(ctx, alice.ID); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if err := h.svc.Reset(ctx, alice.ID, "admin"); err == nil {
		t.Fatalf("Reset hid a failed removal")
	}
	fs, _ := h.svc.Factors(ctx, alice.ID)
	if len(fs) != 1 || fs[0].Type != mfa.TypeTOTP {
		t.Fatalf("after a partial Reset: %v, want only the totp factor that failed", fs)
	}
	if e := h.rec.take()[0]; e.Outcome != audit.Failure {
		t.Fatalf("partial reset audited as %+v", e)
	}
}

func TestNewServiceRefusesClashingMethodTypes(t *testing.T) {
	t.Parallel()
	for name, methods := range map[string][]mfa.Method{
		"duplicate": {newFake(mfa.TypeTOTP), newFake(mfa.TypeTOTP)},
		"recovery":  {newFake(mfa.TypeRecovery)},
		"empty":     {newFake("")},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: NewService did not panic", name)
				}
			}()
			mfa.NewService(mfa.ServiceOptions{Methods: methods})
		}()
	}
}

func TestVerifyTakesAtLeastMinDuration(t *testing.T) {
	t.Parallel()
	var slept []time.Duration
	h := newHarness(t, mfa.ServiceOptions{
		MinDuration: 300 * time.Millisecond,
		Sleep:       func(_ context.Context, d time.Duration) { slept = append(slept, d) },
	})
	ctx := t.Context()
	_, _ = h.svc.Verify(ctx, alice, mfa.TypeTOTP, "", []byte("good"), "192.0.2.1")
	_, _ = h.svc.Verify(ctx, alice, mfa.TypeTOTP, "", []byte("wrong"), "192.0.2.1")
	if len(slept) != 2 || slept[0] <= 0 || slept[0] > 300*time.Millisecond || slept[1] <= 0 {
		t.Fatalf("slept %v; want the remainder of 300ms after both a success and a failure", slept)
	}
}
