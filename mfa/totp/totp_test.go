package totp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"

	"github.com/portcullis-id/portcullis/idp/seal"
	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/store/bolt"
)

// t0 is the middle of a time step, so ±15 s stays within it.
var t0 = time.Unix(1_700_000_025, 0)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

type fixture struct {
	st     *bolt.Store
	sealer *seal.Sealer
	clock  *clock
	m      *TOTP
}

func newFixture(t testing.TB, opts Options) *fixture {
	t.Helper()
	st, err := bolt.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	sealer, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatalf("new sealer: %v", err)
	}
	c := &clock{t: t0}
	opts.Now = c.Now
	return &fixture{st: st, sealer: sealer, clock: c, m: New(st, sealer, opts)}
}

func (f *fixture) user(t testing.TB, name string) store.User {
	t.Helper()
	u, err := f.st.CreateUser(context.Background(), store.User{UserName: name, Active: true})
	if err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

// enroll adds a factor for u, confirmed with the code of the current step, and returns
// it with its secret.
func (f *fixture) enroll(t testing.TB, u store.User, name string) (mfa.Factor, []byte) {
	t.Helper()
	ctx := context.Background()
	e, err := f.m.BeginEnroll(ctx, u, name)
	if err != nil {
		t.Fatalf("BeginEnroll: %v", err)
	}
	secret, err := b32.DecodeString(e.Secret)
	if err != nil {
		t.Fatalf("enrollment secret %q is not unpadded base32: %v", e.Secret, err)
	}
	fac, err := f.m.FinishEnroll(ctx, u, e.ID, []byte(mustCode(t, secret, f.m.currentStep())))
	if err != nil {
		t.Fatalf("FinishEnroll: %v", err)
	}
	return fac, secret
}

func mustCode(t testing.TB, secret []byte, step int64) string {
	t.Helper()
	c, err := appParams.code(secret, step)
	if err != nil {
		t.Fatalf("code for step %d: %v", step, err)
	}
	return c
}

func TestRFC6238AppendixBVectors(t *testing.T) {
	t.Parallel()
	// RFC 6238 Appendix B, 8 digits, X = 30; seeds per hash as in the RFC's errata.
	seeds := map[otp.Algorithm][]byte{
		otp.AlgorithmSHA1:   []byte("12345678901234567890"),
		otp.AlgorithmSHA256: []byte("12345678901234567890123456789012"),
		otp.AlgorithmSHA512: []byte("1234567890123456789012345678901234567890123456789012345678901234"),
	}
	cases := []struct {
		unix                 int64
		sha1, sha256, sha512 string
	}{
		{59, "94287082", "46119246", "90693936"},
		{1111111109, "07081804", "68084774", "25091201"},
		{1111111111, "14050471", "67062674", "99943326"},
		{1234567890, "89005924", "91819424", "93441116"},
		{2000000000, "69279037", "90698825", "38618901"},
		{20000000000, "65353130", "77737706", "47863826"},
	}
	for _, tc := range cases {
		for alg, want := range map[otp.Algorithm]string{otp.AlgorithmSHA1: tc.sha1, otp.AlgorithmSHA256: tc.sha256, otp.AlgorithmSHA512: tc.sha512} {
			p := params{digits: otp.DigitsEight, period: 30, alg: alg}
			got, err := p.code(seeds[alg], tc.unix/30)
			if err != nil {
				t.Fatalf("%s at %d: %v", alg, tc.unix, err)
			}
			if got != want {
				t.Errorf("%s at %d: got %s, want %s", alg, tc.unix, got, want)
			}
		}
	}
}

func TestVerifyAcceptsOneStepEitherSideOnly(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t, Options{})
	cases := []struct {
		offset int64
		want   error
	}{
		{-2, mfa.ErrInvalid},
		{-1, nil},
		{0, nil},
		{1, nil},
		{2, mfa.ErrInvalid},
	}
	users := make([]store.User, len(cases))
	secrets := make([][]byte, len(cases))
	for i := range cases {
		users[i] = f.user(t, fmt.Sprintf("u%d", i))
		_, secrets[i] = f.enroll(t, users[i], "")
	}
	f.clock.Set(t0.Add(10 * Period))
	cur := f.m.currentStep()
	for i, tc := range cases {
		t.Run(strconv.FormatInt(tc.offset, 10), func(t *testing.T) {
			code := mustCode(t, secrets[i], cur+tc.offset)
			_, err := f.m.FinishVerify(ctx, users[i], "", []byte(code))
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("code of step %+d: err = %v, want %v", tc.offset, err, tc.want)
			}
		})
	}
}

func TestVerifyWindowFollowsSkew(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t, Options{Skew: 2})
	u := f.user(t, "alice")
	_, secret := f.enroll(t, u, "")
	f.clock.Set(t0.Add(10 * Period))
	cur := f.m.currentStep()
	if _, err := f.m.FinishVerify(ctx, u, "", []byte(mustCode(t, secret, cur+3))); !errors.Is(err, mfa.ErrInvalid) {
		t.Fatalf("step +3 with Skew 2: err = %v, want mfa.ErrInvalid", err)
	}
	if _, err := f.m.FinishVerify(ctx, u, "", []byte(mustCode(t, secret, cur-2))); err != nil {
		t.Fatalf("step -2 with Skew 2: %v", err)
	}
}

func TestVerifyReturnsFactorAndOTP(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t, Options{})
	u := f.user(t, "alice")
	fac, secret := f.enroll(t, u, "Phone")
	f.clock.Set(t0.Add(Period))
	res, err := f.m.FinishVerify(ctx, u, "", []byte(" "+mustCode(t, secret, f.m.currentStep())[:3]+" "+mustCode(t, secret, f.m.currentStep())[3:]))
	if err != nil {
		t.Fatalf("FinishVerify of a spaced code: %v", err)
	}
	if res.FactorID != fac.ID || len(res.AMR) != 1 || res.AMR[0] != "otp" || res.UserVerified {
		t.Fatalf("Result = %+v, want factor %s with AMR [otp]", res, fac.ID)
	}
	list, err := f.m.List(ctx, u.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v", list, err)
	}
	if !list[0].LastUsedAt.Equal(t0.Add(Period)) {
		t.Fatalf("LastUsedAt = %v, want %v", list[0].LastUsedAt, t0.Add(Period))
	}
}

func TestVerifyRefusesReplayOfSameAndEarlierSteps(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t, Options{})
	u := f.user(t, "alice")
	_, secret := f.enroll(t, u, "")

	// The code that confirmed the enrollment cannot then sign in.
	if _, err := f.m.FinishVerify(ctx, u, "", []byte(mustCode(t, secret, f.m.currentStep()))); !errors.Is(err, mfa.ErrReplay) {
		t.Fatalf("confirming code reused: err = %v, want mfa.ErrReplay", err)
	}

	f.clock.Set(t0.Add(10 * Period))
	cur := f.m.currentStep()
	ahead := mustCode(t, secret, cur+1)
	if _, err := f.m.FinishVerify(ctx, u, "", []byte(ahead)); err != nil {
		t.Fatalf("code of step +1: %v", err)
	}
	for _, step := range []int64{cur + 1, cur, cur - 1} {
		code := mustCode(t, secret, step)
		if _, err := f.m.FinishVerify(ctx, u, "", []byte(code)); !errors.Is(err, mfa.ErrReplay) {
			t.Errorf("code of step %d after step %d was used: err = %v, want mfa.ErrReplay", step-cur, 1, err)
		}
	}
	// Time moves on: the next step's code works again.
	f.clock.Set(t0.Add(12 * Period))
	if _, err := f.m.FinishVerify(ctx, u, "", []byte(mustCode(t, secret, f.m.currentStep()))); err != nil {
		t.Fatalf("code of a later step: %v", err)
	}
}

func TestConcurrentUseOfOneCodeHasOneWinner(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t, Options{})
	u := f.user(t, "alice")
	_, secret := f.enroll(t, u, "")
	f.clock.Set(t0.Add(5 * Period))
	code := []byte(mustCode(t, secret, f.m.currentStep()))

	const racers = 8
	errs := make(chan error, racers)
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			_, err := f.m.FinishVerify(ctx, u, "", code)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	wins := 0
	for err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, mfa.ErrReplay):
			t.Errorf("losing verification: err = %v, want mfa.ErrReplay", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent uses of one code succeeded, want exactly 1", wins)
	}
}

// racingStore runs hook once, just before the first PutCredential it forwards: a
// deterministic stand-in for a request that wrote the credential in between.
type racingStore struct {
	Store
	once sync.Once
	hook func()
}

func (r *racingStore) PutCredential(ctx context.Context, c store.Credential) (store.Credential, error) {
	r.once.Do(r.hook)
	return r.Store.PutCredential(ctx, c)
}

func TestBurnSurvivesConcurrentRenameButNotConcurrentUse(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cases := []struct {
		name  string
		write func(c *store.Credential, step int64)
		want  error
	}{
		{"rename in between", func(c *store.Credential, _ int64) { c.Data[dataName] = "renamed" }, nil},
		{"same step burned in between", func(c *store.Credential, step int64) {
			c.Data[dataLastStep] = strconv.FormatInt(step, 10)
		}, mfa.ErrReplay},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{})
			u := f.user(t, "alice")
			fac, secret := f.enroll(t, u, "")
			f.clock.Set(t0.Add(5 * Period))
			step := f.m.currentStep()
			rs := &racingStore{Store: f.st, hook: func() {
				c, err := f.st.GetCredential(ctx, u.ID, mfa.TypeTOTP, fac.ID)
				if err != nil {
					t.Errorf("hook: %v", err)
					return
				}
				tc.write(&c, step)
				if _, err := f.st.PutCredential(ctx, c); err != nil {
					t.Errorf("hook: %v", err)
				}
			}}
			m := New(rs, f.sealer, Options{Now: f.clock.Now})
			_, err := m.FinishVerify(ctx, u, "", []byte(mustCode(t, secret, step)))
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			c, _ := f.st.GetCredential(ctx, u.ID, mfa.TypeTOTP, fac.ID)
			if got := c.Data[dataLastStep]; got != strconv.FormatInt(step, 10) {
				t.Fatalf("last_step = %s, want %d", got, step)
			}
		})
	}
}

func TestVerifyRefusesWrongAndMalformedCodes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t, Options{})
	u := f.user(t, "alice")
	_, secret := f.enroll(t, u, "")
	f.clock.Set(t0.Add(5 * Period))
	cur := f.m.currentStep()
	window := map[string]bool{}
	for s := cur - 1; s <= cur+1; s++ {
		window[mustCode(t, secret, s)] = true
	}
	wrong := "000000"
	for i := 1; window[wrong]; i++ {
		wrong = fmt.Sprintf("%06d", i)
	}
	good := mustCode(t, secret, cur)
	for _, in := range []string{
		wrong,
		good[:5],                               // too short
		good + "0",                             // too long
		"0" + good,                             // too long the other way
		"abcdef",                               // not digits
		good[:5] + "x",                         // one letter
		"",                                     // empty
		"\u0661\u0662\u0663\u0664\u0665\u0666", // Arabic-Indic digits
		good[:3] + "-" + good[3:],              // dashes are not accepted
		strings.Repeat(" ", 40) + good,
		good + "\x00",
	} {
		if _, err := f.m.FinishVerify(ctx, u, "", []byte(in)); !errors.Is(err, mfa.ErrInvalid) {
			t.Errorf("FinishVerify(%q): err = %v, want mfa.ErrInvalid", in, err)
		}
	}
	// None of that burned anything: the right code still works.
	if _, err := f.m.FinishVerify(ctx, u, "", []byte(good)); err != nil {
		t.Fatalf("right code after wrong ones: %v", err)
	}
}

func TestVerifyWithoutFactorIsNotEnrolled(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t, Options{})
	u := f.user(t, "alice")
	if _, err := f.m.BeginVerify(ctx, u); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("BeginVerify: err = %v, want mfa.ErrNotEnrolled", err)
	}
	if _, err := f.m.FinishVerify(ctx, u, "", []byte("123456")); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("FinishVerify: err = %v, want mfa.ErrNotEnrolled", err)
	}
	f.enroll(t, u, "")
	if ch, err := f.m.BeginVerify(ctx, u); err != nil || ch.ID != "" {
		t.Fatalf("BeginVerify after enrolling = %+v, %v; want an empty challenge", ch, err)
	}
}

func TestStoredSecretIsSealedAndBoundToItsRecord(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t, Options{})
	u := f.user(t, "alice")
	fac, secret := f.enroll(t, u, "")
	c, err := f.st.GetCredential(ctx, u.ID, mfa.TypeTOTP, fac.ID)
	if err != nil {
		t.Fatalf("GetCredential: %v", err)
	}
	if bytes.Contains(c.Secret, secret) || bytes.Contains(c.Secret, []byte(b32.EncodeToString(secret))) {
		t.Fatalf("stored secret holds the plaintext")
	}
	if _, err := f.sealer.Open(c.Secret, sealLabel(u.ID, "other-id")); !errors.Is(err, seal.ErrUnseal) {
		t.Fatalf("open under another record's label: err = %v, want seal.ErrUnseal", err)
	}
	got, err := f.sealer.Open(c.Secret, []byte("totp/"+u.ID+"/"+fac.ID))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open under its own label = %x, %v; want the secret", got, err)
	}
	if len(secret) != 20 {
		t.Fatalf("secret is %d bytes, want 20 (160 bits)", len(secret))
	}
}

func TestEnrollmentURIAndQRCode(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rnd := bytes.NewReader(append([]byte("12345678901234567890"), make([]byte, 64)...))
	f := newFixture(t, Options{Issuer: "Acme IdP", Rand: rnd})
	u := f.user(t, "alice@example.com")
	e, err := f.m.BeginEnroll(ctx, u, "Phone")
	if err != nil {
		t.Fatalf("BeginEnroll: %v", err)
	}
	const wantURI = "otpauth://totp/Acme%20IdP:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20IdP&algorithm=SHA1&digits=6&period=30"
	if e.URI != wantURI {
		t.Errorf("URI = %s\nwant  %s", e.URI, wantURI)
	}
	if e.Secret != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" {
		t.Errorf("Secret = %s", e.Secret)
	}
	key, err := otp.NewKeyFromURL(e.URI)
	if err != nil {
		t.Fatalf("URI does not parse: %v", err)
	}
	if key.Issuer() != "Acme IdP" || key.AccountName() != "alice@example.com" || key.Secret() != e.Secret || key.Period() != 30 || key.Digits() != otp.DigitsSix {
		t.Errorf("URI reads back as issuer %q account %q secret %q period %d digits %d", key.Issuer(), key.AccountName(), key.Secret(), key.Period(), key.Digits())
	}
	img, err := png.Decode(bytes.NewReader(e.QRPNG))
	if err != nil {
		t.Fatalf("QRPNG is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 240 || b.Dy() != 240 {
		t.Fatalf("QR code is %dx%d, want 240x240", b.Dx(), b.Dy())
	}
	if len(e.ID) != 22 {
		t.Errorf("enrollment id %q: want 128 bits of base64url", e.ID)
	}

	// A colon in the user name would split the label: it is replaced.
	v := f.user(t, "x:y")
	e2, err := f.m.BeginEnroll(ctx, v, "")
	if err != nil {
		t.Fatalf("BeginEnroll: %v", err)
	}
	if !strings.HasPrefix(e2.URI, "otpauth://totp/Acme%20IdP:x_y?") {
		t.Fatalf("URI for user x:y = %s", e2.URI)
	}
}

func TestEnrollmentIsPendingUntilConfirmed(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t, Options{})
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	e, err := f.m.BeginEnroll(ctx, alice, "Phone")
	if err != nil {
		t.Fatalf("BeginEnroll: %v", err)
	}
	secret, _ := b32.DecodeString(e.Secret)
	code := []byte(mustCode(t, secret, f.m.currentStep()))

	if list, _ := f.m.List(ctx, alice.ID); len(list) != 0 {
		t.Fatalf("a factor is listed before confirmation: %v", list)
	}
	if _, err := f.m.FinishEnroll(ctx, bob, e.ID, code); !errors.Is(err, mfa.ErrExpired) {
		t.Fatalf("another user's enrollment: err = %v, want mfa.ErrExpired", err)
	}
	if _, err := f.m.FinishEnroll(ctx, alice, e.ID, []byte("12345")); !errors.Is(err, mfa.ErrInvalid) {
		t.Fatalf("malformed confirmation: err = %v, want mfa.ErrInvalid", err)
	}
	if _, err := f.m.FinishEnroll(ctx, alice, e.ID, []byte(mustCode(t, secret, f.m.currentStep()+3))); !errors.Is(err, mfa.ErrInvalid) {
		t.Fatalf("confirmation outside the window: err = %v, want mfa.ErrInvalid", err)
	}
	fac, err := f.m.FinishEnroll(ctx, alice, e.ID, code)
	if err != nil {
		t.Fatalf("FinishEnroll after a typo: %v", err)
	}
	if fac.Name != "Phone" || fac.Type != mfa.TypeTOTP || fac.ID == "" || fac.CreatedAt.IsZero() {
		t.Fatalf("Factor = %+v", fac)
	}
	if _, err := f.m.FinishEnroll(ctx, alice, e.ID, code); !errors.Is(err, mfa.ErrExpired) {
		t.Fatalf("second FinishEnroll: err = %v, want mfa.ErrExpired", err)
	}

	e2, err := f.m.BeginEnroll(ctx, alice, "Tablet")
	if err != nil {
		t.Fatalf("BeginEnroll: %v", err)
	}
	f.clock.Set(t0.Add(EnrollmentTTL))
	secret2, _ := b32.DecodeString(e2.Secret)
	if _, err := f.m.FinishEnroll(ctx, alice, e2.ID, []byte(mustCode(t, secret2, f.m.currentStep()))); !errors.Is(err, mfa.ErrExpired) {
		t.Fatalf("FinishEnroll after %v: err = %v, want mfa.ErrExpired", EnrollmentTTL, err)
	}
}

func TestListRenameRemove(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t, Options{})
	u := f.user(t, "alice")
	phone, phoneSecret := f.enroll(t, u, "Phone")
	f.clock.Set(t0.Add(Period))
	tablet, _ := f.enroll(t, u, "")

	list, err := f.m.List(ctx, u.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %v, %v; want two factors", list, err)
	}
	names := map[string]string{}
	for _, fac := range list {
		names[fac.ID] = fac.Name
	}
	if names[phone.ID] != "Phone" || names[tablet.ID] != DefaultName {
		t.Fatalf("names = %v", names)
	}

	if err := f.m.Rename(ctx, u.ID, tablet.ID, "  Tablet "); err != nil {
		t.Fatalf("Rename: %v", err)
	}
	for _, bad := range []string{"", "   ", "a\nb", strings.Repeat("x", 65), "\xff"} {
		if err := f.m.Rename(ctx, u.ID, tablet.ID, bad); !errors.Is(err, ErrName) {
			t.Errorf("Rename to %q: err = %v, want ErrName", bad, err)
		}
	}
	if err := f.m.Rename(ctx, u.ID, "nope", "x"); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("Rename of an unknown factor: err = %v, want mfa.ErrNotEnrolled", err)
	}
	list, _ = f.m.List(ctx, u.ID)
	for _, fac := range list {
		if fac.ID == tablet.ID && fac.Name != "Tablet" {
			t.Fatalf("renamed factor is called %q", fac.Name)
		}
	}

	if err := f.m.Remove(ctx, u.ID, "nope"); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("Remove of an unknown factor: err = %v, want mfa.ErrNotEnrolled", err)
	}
	if err := f.m.Remove(ctx, u.ID, phone.ID); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if err := f.m.Remove(ctx, u.ID, phone.ID); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("second Remove: err = %v, want mfa.ErrNotEnrolled", err)
	}
	f.clock.Set(t0.Add(5 * Period))
	if _, err := f.m.FinishVerify(ctx, u, "", []byte(mustCode(t, phoneSecret, f.m.currentStep()))); !errors.Is(err, mfa.ErrInvalid) {
		t.Fatalf("code of a removed factor: err = %v, want mfa.ErrInvalid", err)
	}
}

func TestEnrollRefusesMoreThanMaxFactors(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t, Options{})
	u := f.user(t, "alice")
	for range MaxFactors {
		f.enroll(t, u, "")
	}
	if _, err := f.m.BeginEnroll(ctx, u, ""); !errors.Is(err, ErrTooMany) {
		t.Fatalf("BeginEnroll past the limit: err = %v, want ErrTooMany", err)
	}
}

// TestOathtoolAgrees checks codes against an independent implementation: Debian's
// oathtool (package oathtool), given the secret exactly as a user would type it.
func TestOathtoolAgrees(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("oathtool")
	if err != nil {
		t.Skip("SKIPPING INDEPENDENT TOTP CROSS-CHECK: oathtool not installed (apt-get install oathtool); CI installs it")
	}
	ctx := t.Context()
	oath := func(secret string, at time.Time) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, bin, "--totp", "-b", secret, "--now=@"+strconv.FormatInt(at.Unix(), 10)).Output()
		if err != nil {
			t.Fatalf("oathtool: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	f := newFixture(t, Options{})
	u := f.user(t, "alice")
	e, err := f.m.BeginEnroll(ctx, u, "")
	if err != nil {
		t.Fatalf("BeginEnroll: %v", err)
	}
	if _, err := f.m.FinishEnroll(ctx, u, e.ID, []byte(oath(e.Secret, t0))); err != nil {
		t.Fatalf("FinishEnroll with oathtool's code: %v", err)
	}
	at := t0.Add(7 * Period)
	f.clock.Set(at)
	if _, err := f.m.FinishVerify(ctx, u, "", []byte(oath(e.Secret, at))); err != nil {
		t.Fatalf("FinishVerify with oathtool's code: %v", err)
	}
	secret, _ := b32.DecodeString(e.Secret)
	for _, unix := range []int64{0, 59, 1111111109, 1234567890, 2000000000} {
		at := time.Unix(unix, 0)
		if got, want := mustCode(t, secret, unix/30), oath(e.Secret, at); got != want {
			t.Errorf("at %d: code %s, oathtool %s", unix, got, want)
		}
	}
}

func TestParseCode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{"123456", "123456", true},
		{"123 456", "123456", true},
		{"\t012345 ", "012345", true},
		{"12345", "", false},
		{"1234567", "", false},
		{"12345a", "", false},
		{"123-456", "", false},
		{"", "", false},
		{strings.Repeat(" ", 30) + "123456", "", false},
	}
	for _, tc := range cases {
		got, ok := parseCode([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseCode(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzVerifyCode(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "12345", "1234567", "abcdef", "", "\x00\xff", "\u0661\u0662\u0663\u0664\u0665\u0666"} {
		f.Add([]byte(s))
	}
	fx := newFixture(f, Options{})
	u := fx.user(f, "alice")
	fac, secret := fx.enroll(f, u, "")
	fx.clock.Set(t0.Add(5 * Period))
	cur := fx.m.currentStep()
	window := map[string]bool{}
	for s := cur - 1; s <= cur+1; s++ {
		window[mustCode(f, secret, s)] = true
	}
	fresh, err := fx.st.GetCredential(context.Background(), u.ID, mfa.TypeTOTP, fac.ID)
	if err != nil {
		f.Fatalf("GetCredential: %v", err)
	}
	fresh.Version = 0
	f.Add([]byte(mustCode(f, secret, cur)))

	f.Fuzz(func(t *testing.T, in []byte) {
		code, ok := parseCode(in)
		if ok && (len(code) != Digits || strings.Trim(code, "0123456789") != "") {
			t.Fatalf("parseCode(%q) = %q", in, code)
		}
		_, err := fx.m.FinishVerify(context.Background(), u, "", in)
		if ok && window[code] {
			if err != nil {
				t.Fatalf("FinishVerify(%q) of a code in the window: %v", in, err)
			}
			// Un-burn the step for the next input.
			if _, err := fx.st.PutCredential(context.Background(), fresh); err != nil {
				t.Fatalf("reset credential: %v", err)
			}
			return
		}
		if !errors.Is(err, mfa.ErrInvalid) {
			t.Fatalf("FinishVerify(%q): err = %v, want mfa.ErrInvalid", in, err)
		}
	})
}
