package webauthn

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/store/bolt"
)

const (
	testRPID   = "id.example.com"
	testOrigin = "https://id.example.com"
)

var testStart = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	st    *bolt.Store
	clock *clock
	w     *WebAuthn
}

func newFixture(t testing.TB, opts Options) *fixture {
	t.Helper()
	clk := &clock{t: testStart}
	st, err := bolt.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"), bolt.Options{NoSync: true, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if opts.RPID == "" {
		opts.RPID = testRPID
	}
	if opts.RPOrigins == nil {
		opts.RPOrigins = []string{testOrigin}
	}
	opts.Now = clk.Now
	w, err := New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, clock: clk, w: w}
}

func (f *fixture) user(t testing.TB, name string) store.User {
	t.Helper()
	u, err := f.st.CreateUser(t.Context(), store.User{UserName: name, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// enroll registers k for u under name and returns the factor.
func (f *fixture) enroll(t testing.TB, u store.User, k *softKey, name string) mfa.Factor {
	t.Helper()
	en, err := f.w.BeginEnroll(t.Context(), u, name)
	if err != nil {
		t.Fatal(err)
	}
	fac, err := f.w.FinishEnroll(t.Context(), u, en.ID, k.register(t, en.Options))
	if err != nil {
		t.Fatalf("FinishEnroll: %v", err)
	}
	return fac
}

// verify runs one second-factor verification of u with k.
func (f *fixture) verify(t *testing.T, u store.User, k *softKey) (mfa.Result, error) {
	t.Helper()
	ch, err := f.w.BeginVerify(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	return f.w.FinishVerify(t.Context(), u, ch.ID, k.assert(t, ch.Options))
}

func (f *fixture) storedCredential(t *testing.T, userID, id string) (store.Credential, gowebauthn.Credential) {
	t.Helper()
	c, err := f.st.GetCredential(t.Context(), userID, mfa.TypeWebAuthn, id)
	if err != nil {
		t.Fatal(err)
	}
	var cred gowebauthn.Credential
	if err := json.Unmarshal(c.Secret, &cred); err != nil {
		t.Fatal(err)
	}
	return c, cred
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"no rp id", Options{RPOrigins: []string{testOrigin}}, "rp_id: required"},
		{"ip rp id", Options{RPID: "127.0.0.1", RPOrigins: []string{"http://127.0.0.1:8080"}}, "rp_id"},
		{"rp id with port", Options{RPID: "id.example.com:443", RPOrigins: []string{testOrigin}}, "rp_id"},
		{"no origins", Options{RPID: testRPID}, "rp_origins: at least one"},
		{"origin with path", Options{RPID: testRPID, RPOrigins: []string{testOrigin + "/login"}}, "rp_origins[0]"},
		{"origin of another host", Options{RPID: testRPID, RPOrigins: []string{"https://evil.example.net"}}, "neither rp_id"},
		{"origin that only ends like the rp id", Options{RPID: testRPID, RPOrigins: []string{"https://badid.example.com"}}, "neither rp_id"},
		{"bad uv", Options{RPID: testRPID, RPOrigins: []string{testOrigin}, UserVerification: "always"}, "user_verification"},
		{"bad aaguid", Options{RPID: testRPID, RPOrigins: []string{testOrigin}, AllowedAAGUIDs: []string{"yubikey"}}, "allowed_aaguids[0]"},
		{"all-zero aaguid", Options{RPID: testRPID, RPOrigins: []string{testOrigin}, AllowedAAGUIDs: []string{"00000000-0000-0000-0000-000000000000"}}, "all-zero AAGUID"},
		{"negative ttl", Options{RPID: testRPID, RPOrigins: []string{testOrigin}, ChallengeTTL: -time.Second}, "challenge_ttl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(nopStore{}, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := New(nopStore{}, Options{RPID: testRPID, RPOrigins: []string{testOrigin, "https://login.id.example.com:8443"}}); err != nil {
		t.Fatalf("valid options refused: %v", err)
	}
}

// nopStore satisfies Store for constructor tests that never reach it.
type nopStore struct{ store.Credentials }

func (nopStore) GetUser(context.Context, string) (store.User, error) {
	return store.User{}, store.ErrNotFound
}

func TestEnrollSeveralNamedCredentialsAndVerifyEach(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	alice := f.user(t, "alice")
	key1 := newSoftKey(t, testOrigin, testRPID)
	key1.count = 1
	key2 := newSoftKey(t, testOrigin, testRPID)
	key2.rk = nil // no credProps and not backup eligible: a plain security key

	f1 := f.enroll(t, alice, key1, "  Blue key ")
	f.clock.Advance(time.Second)
	f2 := f.enroll(t, alice, key2, "")
	if f1.Name != "Blue key" || !f1.Passkey || f1.Type != mfa.TypeWebAuthn || f1.ID != b64(key1.id) {
		t.Errorf("first factor = %+v", f1)
	}
	if f2.Name != "Security key" || f2.Passkey {
		t.Errorf("second factor = %+v, want the default name and no passkey", f2)
	}

	list, err := f.w.List(t.Context(), alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != f1.ID || list[1].ID != f2.ID {
		t.Fatalf("List = %+v", list)
	}

	// The second registration excluded the first credential.
	en, err := f.w.BeginEnroll(t.Context(), alice, "third")
	if err != nil {
		t.Fatal(err)
	}
	o := parseOptions(t, en.Options)
	var excluded []string
	for _, c := range o.ExcludeCredentials {
		excluded = append(excluded, c.ID)
	}
	slices.Sort(excluded)
	want := []string{f1.ID, f2.ID}
	slices.Sort(want)
	if !slices.Equal(excluded, want) {
		t.Errorf("excludeCredentials = %v, want %v", excluded, want)
	}

	for _, k := range []*softKey{key1, key2} {
		f.clock.Advance(time.Minute)
		res, err := f.verify(t, alice, k)
		if err != nil {
			t.Fatalf("verify %s: %v", b64(k.id), err)
		}
		if res.FactorID != b64(k.id) || !res.UserVerified || !slices.Equal(res.AMR, []string{"hwk", "user"}) || res.Warning != "" {
			t.Errorf("result = %+v", res)
		}
	}
	c, cred := f.storedCredential(t, alice.ID, f1.ID)
	if cred.Authenticator.SignCount != 2 {
		t.Errorf("stored sign count = %d, want 2", cred.Authenticator.SignCount)
	}
	if c.Data[dataLastUsed] != testStart.Add(time.Second+time.Minute).Format(time.RFC3339) {
		t.Errorf("last_used = %q", c.Data[dataLastUsed])
	}
	list, _ = f.w.List(t.Context(), alice.ID)
	if list[0].LastUsedAt.IsZero() {
		t.Errorf("List does not report last use: %+v", list[0])
	}
}

func TestEnrollRegisteredCredentialAgainRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	alice := f.user(t, "alice")
	k := newSoftKey(t, testOrigin, testRPID)
	k.count = 7
	f.enroll(t, alice, k, "key")
	// A client that ignores excludeCredentials must not reset the stored counter.
	k.count = 0
	en, err := f.w.BeginEnroll(t.Context(), alice, "again")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.w.FinishEnroll(t.Context(), alice, en.ID, k.register(t, en.Options)); !errors.Is(err, mfa.ErrInvalid) {
		t.Fatalf("FinishEnroll of a registered credential: %v, want ErrInvalid", err)
	}
	if _, cred := f.storedCredential(t, alice.ID, b64(k.id)); cred.Authenticator.SignCount != 7 {
		t.Errorf("sign count = %d, want 7", cred.Authenticator.SignCount)
	}
}

func TestEnrollChecks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		opts   Options
		tweak  func(k *softKey)
		want   error
		passky bool
	}{
		{name: "wrong origin", tweak: func(k *softKey) { k.origin = "https://evil.example.com" }, want: mfa.ErrInvalid},
		{name: "wrong rp id", tweak: func(k *softKey) { k.rpID = "example.com" }, want: mfa.ErrInvalid},
		{name: "uv required, none given", opts: Options{UserVerification: "required"}, tweak: func(k *softKey) { k.uv = false }, want: mfa.ErrInvalid},
		{name: "backed up but not eligible", tweak: func(k *softKey) { k.bs = true }, want: mfa.ErrInvalid},
		{name: "zero aaguid with an allow list", opts: Options{AllowedAAGUIDs: []string{"cb69481e-8ff7-4039-93ec-0a2729a154a8"}}, want: mfa.ErrInvalid},
		{name: "unlisted aaguid", opts: Options{AllowedAAGUIDs: []string{"cb69481e-8ff7-4039-93ec-0a2729a154a8"}},
			tweak: func(k *softKey) { k.aaguid = [16]byte{1, 2, 3} }, want: mfa.ErrInvalid},
		{name: "listed aaguid", opts: Options{AllowedAAGUIDs: []string{"cb69481e-8ff7-4039-93ec-0a2729a154a8"}},
			tweak: func(k *softKey) {
				k.aaguid = [16]byte{0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40, 0x39, 0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1, 0x54, 0xa8}
			}, passky: true},
		{name: "credProps says not resident", tweak: func(k *softKey) { no := false; k.rk = &no }},
		{name: "no credProps, backup eligible", tweak: func(k *softKey) { k.rk = nil; k.be = true }, passky: true},
		{name: "uv discouraged, none given", opts: Options{UserVerification: "discouraged"}, tweak: func(k *softKey) { k.uv = false }, passky: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tc.opts)
			alice := f.user(t, "alice")
			k := newSoftKey(t, testOrigin, testRPID)
			if tc.tweak != nil {
				tc.tweak(k)
			}
			en, err := f.w.BeginEnroll(t.Context(), alice, "k")
			if err != nil {
				t.Fatal(err)
			}
			fac, err := f.w.FinishEnroll(t.Context(), alice, en.ID, k.register(t, en.Options))
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("FinishEnroll: %v, want %v", err, tc.want)
				}
				if list, _ := f.w.List(t.Context(), alice.ID); len(list) != 0 {
					t.Fatalf("a refused credential was stored: %+v", list)
				}
				return
			}
			if err != nil {
				t.Fatalf("FinishEnroll: %v", err)
			}
			if fac.Passkey != tc.passky {
				t.Errorf("Passkey = %v, want %v", fac.Passkey, tc.passky)
			}
		})
	}
}

func TestEnrollmentIsSingleUseAndBoundToItsUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	k := newSoftKey(t, testOrigin, testRPID)
	en, err := f.w.BeginEnroll(t.Context(), alice, "k")
	if err != nil {
		t.Fatal(err)
	}
	resp := k.register(t, en.Options)
	if _, err := f.w.FinishEnroll(t.Context(), bob, en.ID, resp); !errors.Is(err, mfa.ErrExpired) {
		t.Fatalf("bob finishing alice's enrollment: %v, want ErrExpired", err)
	}
	if _, err := f.w.FinishEnroll(t.Context(), alice, en.ID, resp); err != nil {
		t.Fatalf("alice after bob's attempt: %v", err)
	}
	if _, err := f.w.FinishEnroll(t.Context(), alice, en.ID, resp); !errors.Is(err, mfa.ErrExpired) {
		t.Fatalf("second finish: %v, want ErrExpired", err)
	}
}

func TestEnrollRejectsBadNamesAndHandles(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	alice := f.user(t, "alice")
	for _, name := range []string{strings.Repeat("x", 65), "a\nb", "tab\there", "a\u2028b"} {
		if _, err := f.w.BeginEnroll(t.Context(), alice, name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("BeginEnroll(%q): %v, want ErrInvalidName", name, err)
		}
	}
	if _, err := f.w.BeginEnroll(t.Context(), store.User{ID: strings.Repeat("u", 65), UserName: "long"}, ""); err == nil {
		t.Error("a user id of 65 bytes was accepted as a user handle")
	}
}

func TestVerifyChallengeIsSingleUse(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	alice := f.user(t, "alice")
	k := newSoftKey(t, testOrigin, testRPID)
	f.enroll(t, alice, k, "k")

	ch, err := f.w.BeginVerify(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	resp := k.assert(t, ch.Options)
	if _, err := f.w.FinishVerify(t.Context(), alice, ch.ID, resp); err != nil {
		t.Fatal(err)
	}
	if _, err := f.w.FinishVerify(t.Context(), alice, ch.ID, resp); !errors.Is(err, mfa.ErrExpired) {
		t.Fatalf("replay under the same challenge id: %v, want ErrExpired", err)
	}
	// The captured assertion presented for a fresh challenge fails the challenge check.
	ch2, err := f.w.BeginVerify(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.w.FinishVerify(t.Context(), alice, ch2.ID, resp); !errors.Is(err, mfa.ErrInvalid) {
		t.Fatalf("replay under a new challenge: %v, want ErrInvalid", err)
	}
}

func TestVerifyChallengeExpires(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{ChallengeTTL: 30 * time.Second})
	alice := f.user(t, "alice")
	k := newSoftKey(t, testOrigin, testRPID)
	f.enroll(t, alice, k, "k")
	ch, err := f.w.BeginVerify(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	if o := parseOptions(t, ch.Options); len(o.AllowCredentials) != 1 || o.AllowCredentials[0].ID != b64(k.id) || o.UserVerification != "preferred" {
		t.Errorf("request options = %s", ch.Options)
	}
	f.clock.Advance(31 * time.Second)
	if _, err := f.w.FinishVerify(t.Context(), alice, ch.ID, k.assert(t, ch.Options)); !errors.Is(err, mfa.ErrExpired) {
		t.Fatalf("FinishVerify after the TTL: %v, want ErrExpired", err)
	}
}

func TestVerifyChallengeBoundToItsUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	ka, kb := newSoftKey(t, testOrigin, testRPID), newSoftKey(t, testOrigin, testRPID)
	f.enroll(t, alice, ka, "a")
	f.enroll(t, bob, kb, "b")
	ch, err := f.w.BeginVerify(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.w.FinishVerify(t.Context(), bob, ch.ID, kb.assert(t, ch.Options)); !errors.Is(err, mfa.ErrExpired) {
		t.Fatalf("bob using alice's challenge: %v, want ErrExpired", err)
	}
	// Bob's key under his own challenge but for alice: not her credential.
	chb, _ := f.w.BeginVerify(t.Context(), alice)
	if _, err := f.w.FinishVerify(t.Context(), alice, chb.ID, kb.assert(t, chb.Options)); !errors.Is(err, mfa.ErrInvalid) {
		t.Fatalf("bob's credential verifying alice: %v, want ErrInvalid", err)
	}
	if _, err := f.w.FinishVerify(t.Context(), alice, ch.ID, ka.assert(t, ch.Options)); err != nil {
		t.Fatalf("alice after bob's attempt: %v", err)
	}
}

func TestVerifyRefusesForeignOriginAndRPID(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		tweak func(k *softKey)
	}{
		{"phishing origin", func(k *softKey) { k.origin = "https://id.example.com.evil.net" }},
		{"other port", func(k *softKey) { k.origin = "https://id.example.com:8443" }},
		{"plain http", func(k *softKey) { k.origin = "http://id.example.com" }},
		{"rp id of a parent domain", func(k *softKey) { k.rpID = "example.com" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{})
			alice := f.user(t, "alice")
			k := newSoftKey(t, testOrigin, testRPID)
			f.enroll(t, alice, k, "k")
			tc.tweak(k)
			if _, err := f.verify(t, alice, k); !errors.Is(err, mfa.ErrInvalid) {
				t.Fatalf("FinishVerify: %v, want ErrInvalid", err)
			}
		})
	}
}

func TestVerifyUserVerificationPolicy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		uv      string
		keyUV   bool
		ok      bool
		wantAMR []string
	}{
		{"required", false, false, nil},
		{"required", true, true, []string{"hwk", "user"}},
		{"preferred", false, true, []string{"hwk"}},
		{"discouraged", false, true, []string{"hwk"}},
	}
	for _, tc := range cases {
		t.Run(tc.uv, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{UserVerification: tc.uv})
			alice := f.user(t, "alice")
			k := newSoftKey(t, testOrigin, testRPID)
			f.enroll(t, alice, k, "k")
			k.uv = tc.keyUV
			res, err := f.verify(t, alice, k)
			if !tc.ok {
				if !errors.Is(err, mfa.ErrInvalid) {
					t.Fatalf("FinishVerify without UV: %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.UserVerified != tc.keyUV || !slices.Equal(res.AMR, tc.wantAMR) {
				t.Errorf("result = %+v, want UV %v and AMR %v", res, tc.keyUV, tc.wantAMR)
			}
		})
	}
}

func TestSignCountPolicy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		stored, next uint32
		ok           bool
	}{
		{"increase", 5, 6, true},
		{"both zero (synced passkey)", 0, 0, true},
		{"first count after zero", 0, 3, true},
		{"same count", 5, 5, false},
		{"went back", 5, 4, false},
		{"dropped to zero", 5, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{})
			alice := f.user(t, "alice")
			k := newSoftKey(t, testOrigin, testRPID)
			k.count = tc.stored
			fac := f.enroll(t, alice, k, "k")
			ch, err := f.w.BeginVerify(t.Context(), alice)
			if err != nil {
				t.Fatal(err)
			}
			k.count = tc.next
			res, err := f.w.FinishVerify(t.Context(), alice, ch.ID, k.assertChallenge(t, parseOptions(t, ch.Options).Challenge))
			c, cred := f.storedCredential(t, alice.ID, fac.ID)
			if tc.ok {
				if err != nil || res.Warning != "" {
					t.Fatalf("FinishVerify: %+v, %v", res, err)
				}
				if cred.Authenticator.SignCount != tc.next {
					t.Errorf("stored count = %d, want %d", cred.Authenticator.SignCount, tc.next)
				}
				return
			}
			if !errors.Is(err, mfa.ErrInvalid) {
				t.Fatalf("FinishVerify: %v, want ErrInvalid", err)
			}
			if res.FactorID != fac.ID || !strings.Contains(res.Warning, "sign count") {
				t.Errorf("result = %+v, want FactorID and a sign-count warning", res)
			}
			if cred.Authenticator.SignCount != tc.stored || cred.Authenticator.CloneWarning {
				t.Errorf("stored authenticator = %+v, want count %d unchanged", cred.Authenticator, tc.stored)
			}
			if c.Data[dataCloneWarning] == "" || c.Data[dataLastUsed] != "" {
				t.Errorf("record data = %v, want a clone mark and no use", c.Data)
			}
			// The genuine authenticator, one step further, still works.
			k.count = tc.stored
			if _, err := f.verify(t, alice, k); err != nil {
				t.Errorf("next verification: %v", err)
			}
		})
	}
}

// raceStore moves a credential's Version on between the method's read and its write,
// as a concurrent use of the same credential would.
type raceStore struct {
	*bolt.Store
	once sync.Once
}

func (r *raceStore) ListCredentials(ctx context.Context, userID string) ([]store.Credential, error) {
	list, err := r.Store.ListCredentials(ctx, userID)
	if err != nil {
		return nil, err
	}
	r.once.Do(func() {
		for _, c := range list {
			if c.Type == mfa.TypeWebAuthn {
				if _, err := r.Store.PutCredential(ctx, c); err != nil {
					panic(err)
				}
			}
		}
	})
	return list, nil
}

func TestConcurrentUseOfACredentialIsReplay(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	alice := f.user(t, "alice")
	k := newSoftKey(t, testOrigin, testRPID)
	fac := f.enroll(t, alice, k, "k")
	ch, err := f.w.BeginVerify(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	rs := &raceStore{Store: f.st}
	w, err := New(rs, Options{RPID: testRPID, RPOrigins: []string{testOrigin}, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	w.verifies = f.w.verifies // the challenge was begun on f.w
	res, err := w.FinishVerify(t.Context(), alice, ch.ID, k.assert(t, ch.Options))
	if !errors.Is(err, mfa.ErrReplay) {
		t.Fatalf("FinishVerify racing another use: %+v, %v, want ErrReplay", res, err)
	}
	if c, _ := f.storedCredential(t, alice.ID, fac.ID); c.Data[dataLastUsed] != "" {
		t.Errorf("the losing use was recorded: %v", c.Data)
	}
}

func TestDiscoverableSignIn(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	ka := newSoftKey(t, testOrigin, testRPID)
	f.enroll(t, alice, ka, "a")
	kb := newSoftKey(t, testOrigin, testRPID)
	f.enroll(t, bob, kb, "b")

	signIn := func(k *softKey) (store.User, mfa.Result, error) {
		t.Helper()
		ch, err := f.w.BeginDiscoverable(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		o := parseOptions(t, ch.Options)
		if len(o.AllowCredentials) != 0 || o.UserVerification != "required" || o.RPID != testRPID {
			t.Fatalf("discoverable options = %s", ch.Options)
		}
		return f.w.FinishDiscoverable(t.Context(), ch.ID, k.assert(t, ch.Options))
	}

	u, res, err := signIn(ka)
	if err != nil || u.ID != alice.ID || !res.UserVerified || res.FactorID != b64(ka.id) {
		t.Fatalf("alice's passkey: %+v %+v %v", u, res, err)
	}
	if u, _, err := signIn(kb); err != nil || u.ID != bob.ID {
		t.Fatalf("bob's passkey: %+v %v", u, err)
	}

	t.Run("refused", func(t *testing.T) {
		ka.uv = false
		if _, _, err := signIn(ka); !errors.Is(err, mfa.ErrInvalid) {
			t.Errorf("without UV: %v, want ErrInvalid", err)
		}
		ka.uv = true

		// Bob's key claiming alice's user handle: not one of alice's credentials.
		kb.handle = []byte(alice.ID)
		if _, _, err := signIn(kb); !errors.Is(err, mfa.ErrInvalid) {
			t.Errorf("foreign credential with alice's handle: %v, want ErrInvalid", err)
		}
		kb.handle = []byte("no-such-user")
		if _, _, err := signIn(kb); !errors.Is(err, mfa.ErrInvalid) {
			t.Errorf("unknown user handle: %v, want ErrInvalid", err)
		}
		kb.handle = nil
		if _, _, err := signIn(kb); !errors.Is(err, mfa.ErrInvalid) {
			t.Errorf("no user handle: %v, want ErrInvalid", err)
		}
		kb.handle = []byte(bob.ID)

		bob.Active = false
		if _, err := f.st.UpdateUser(t.Context(), bob); err != nil {
			t.Fatal(err)
		}
		if u, _, err := signIn(kb); !errors.Is(err, mfa.ErrInvalid) || u.ID != "" {
			t.Errorf("inactive user: %+v %v, want ErrInvalid and no user", u, err)
		}

		if err := f.w.Remove(t.Context(), alice.ID, b64(ka.id)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := signIn(ka); !errors.Is(err, mfa.ErrInvalid) {
			t.Errorf("removed credential: %v, want ErrInvalid", err)
		}
		if _, _, err := f.w.FinishDiscoverable(t.Context(), "unknown", nil); !errors.Is(err, mfa.ErrExpired) {
			t.Errorf("unknown challenge: %v, want ErrExpired", err)
		}
	})
}

func TestDiscoverableChallengeIsSingleUse(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	alice := f.user(t, "alice")
	k := newSoftKey(t, testOrigin, testRPID)
	f.enroll(t, alice, k, "a")
	ch, err := f.w.BeginDiscoverable(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	resp := k.assert(t, ch.Options)
	if _, _, err := f.w.FinishDiscoverable(t.Context(), ch.ID, resp); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.w.FinishDiscoverable(t.Context(), ch.ID, resp); !errors.Is(err, mfa.ErrExpired) {
		t.Fatalf("replay: %v, want ErrExpired", err)
	}
	// A second-factor challenge is not a passkey challenge, and the other way round.
	vch, err := f.w.BeginVerify(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.w.FinishDiscoverable(t.Context(), vch.ID, k.assert(t, vch.Options)); !errors.Is(err, mfa.ErrExpired) {
		t.Fatalf("second-factor challenge used for passkey sign-in: %v, want ErrExpired", err)
	}
}

func TestRenameAndRemove(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	k := newSoftKey(t, testOrigin, testRPID)
	fac := f.enroll(t, alice, k, "old")

	if err := f.w.Rename(t.Context(), alice.ID, fac.ID, " new name "); err != nil {
		t.Fatal(err)
	}
	if list, _ := f.w.List(t.Context(), alice.ID); len(list) != 1 || list[0].Name != "new name" {
		t.Fatalf("after rename: %+v", list)
	}
	for _, bad := range []string{"", "  ", "a\x00b"} {
		if err := f.w.Rename(t.Context(), alice.ID, fac.ID, bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Rename(%q): %v, want ErrInvalidName", bad, err)
		}
	}
	if err := f.w.Rename(t.Context(), bob.ID, fac.ID, "mine"); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Errorf("rename of another user's credential: %v, want ErrNotEnrolled", err)
	}
	if err := f.w.Remove(t.Context(), bob.ID, fac.ID); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Errorf("remove of another user's credential: %v, want ErrNotEnrolled", err)
	}

	// Begun before the removal, finished after: refused.
	ch, err := f.w.BeginVerify(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.w.Remove(t.Context(), alice.ID, fac.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.w.FinishVerify(t.Context(), alice, ch.ID, k.assert(t, ch.Options)); !errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("verification with a removed credential: %v, want ErrInvalid", err)
	}
	if err := f.w.Remove(t.Context(), alice.ID, fac.ID); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Errorf("second remove: %v, want ErrNotEnrolled", err)
	}
	if _, err := f.w.BeginVerify(t.Context(), alice); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Errorf("BeginVerify without credentials: %v, want ErrNotEnrolled", err)
	}
	if list, err := f.w.List(t.Context(), alice.ID); err != nil || len(list) != 0 {
		t.Errorf("List after remove: %+v %v", list, err)
	}
}

// FuzzFinishVerify: no response to a fresh challenge verifies, and none is anything
// but refused (no panic, no internal error).
func FuzzFinishVerify(f *testing.F) {
	fx := newFixture(f, Options{})
	alice := fx.user(f, "alice")
	k := newSoftKey(f, testOrigin, testRPID)
	fx.enroll(f, alice, k, "k")
	ch, err := fx.w.BeginVerify(f.Context(), alice)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(k.assert(f, ch.Options))
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{}}`))
	f.Add([]byte("{}"))
	f.Add([]byte(nil))
	f.Fuzz(func(t *testing.T, resp []byte) {
		ch, err := fx.w.BeginVerify(t.Context(), alice)
		if err != nil {
			t.Fatal(err)
		}
		res, err := fx.w.FinishVerify(t.Context(), alice, ch.ID, resp)
		if !errors.Is(err, mfa.ErrInvalid) {
			t.Fatalf("FinishVerify(%q) = %+v, %v; want ErrInvalid", resp, res, err)
		}
	})
}
