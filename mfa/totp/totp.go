package totp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"image/png"
	"io"
	"maps"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/portcullis-id/portcullis/idp/seal"
	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/store"
)

// Fixed code parameters. Authenticator apps ignore the otpauth URI's algorithm, digits
// and period more often than not and silently show SHA-1, 6-digit, 30-second codes,
// so these are not configurable: any other choice would enroll factors that fail.
const (
	Digits = 6
	Period = 30 * time.Second
)

// Defaults and bounds.
const (
	DefaultIssuer = "Portcullis"
	// DefaultSkew is how many steps either side of the current one are accepted.
	// RFC 6238 §5.2 recommends allowing at most one step of network delay; one step
	// ahead covers a phone clock a little fast.
	DefaultSkew = 1
	// MaxFactors bounds the authenticator apps one user may enroll: each costs a
	// little on every verification.
	MaxFactors = 10
	// EnrollmentTTL is how long a shown secret waits for its first code.
	EnrollmentTTL = 10 * time.Minute
	// DefaultName names a factor enrolled without a name.
	DefaultName = "Authenticator app"

	maxNameLen = 64 // runes
	// secretBytes is 160 bits, the shared-secret length RFC 4226 §4 (R6) recommends
	// and the output size of HMAC-SHA1.
	secretBytes     = 20
	idBytes         = 16
	qrSize          = 240
	maxPending      = 10_000
	maxCodeInput    = 32 // longer input cannot be a spaced six-digit code
	dataName        = "name"
	dataLastStep    = "last_step"
	dataLastUsedAt  = "last_used_at"
	updateRetries   = 3
	sealLabelPrefix = "totp/"
)

// Errors besides the mfa ones.
var (
	// ErrName: a factor name is too long or contains control characters.
	ErrName = errors.New("invalid factor name")
	// ErrTooMany: the user already has MaxFactors authenticator apps.
	ErrTooMany = errors.New("too many authenticator apps enrolled")
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Store is the part of the store this package needs.
type Store interface {
	store.Credentials
}

// Options configures a TOTP. Zero fields take defaults.
type Options struct {
	// Issuer labels the factor in authenticator apps (DefaultIssuer). A colon is
	// replaced, since the otpauth label uses it as the separator.
	Issuer string
	// Skew is the number of steps accepted either side of the current one
	// (DefaultSkew). Zero means the default: an exact-step-only window fails users
	// whose phone clock is a few seconds off.
	Skew uint
	Now  func() time.Time
	Rand io.Reader
}

// TOTP implements mfa.Method for authenticator apps. It is safe for concurrent use.
type TOTP struct {
	st      Store
	sealer  *seal.Sealer
	opts    Options
	params  params
	pending *mfa.Pending[enrollment]
}

var _ mfa.Method = (*TOTP)(nil)

// enrollment is a secret shown to the user and not yet confirmed.
type enrollment struct {
	userID string
	name   string
	secret []byte
}

// New returns the TOTP method storing factors in st, their secrets sealed by sealer.
func New(st Store, sealer *seal.Sealer, opts Options) *TOTP {
	if opts.Issuer == "" {
		opts.Issuer = DefaultIssuer
	}
	opts.Issuer = labelPart(opts.Issuer)
	if opts.Skew == 0 {
		opts.Skew = DefaultSkew
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	return &TOTP{
		st:      st,
		sealer:  sealer,
		opts:    opts,
		params:  appParams,
		pending: mfa.NewPending[enrollment](EnrollmentTTL, maxPending, opts.Now),
	}
}

// Type implements mfa.Method.
func (t *TOTP) Type() string { return mfa.TypeTOTP }

// BeginEnroll draws a new secret for u and returns it as text, otpauth URI and QR code.
// Nothing is stored until FinishEnroll confirms a code.
func (t *TOTP) BeginEnroll(ctx context.Context, u store.User, name string) (mfa.Enrollment, error) {
	name, err := checkName(name, true)
	if err != nil {
		return mfa.Enrollment{}, fmt.Errorf("begin totp enrollment for user %q: %w", u.ID, err)
	}
	if err := t.checkRoom(ctx, u.ID); err != nil {
		return mfa.Enrollment{}, fmt.Errorf("begin totp enrollment for user %q: %w", u.ID, err)
	}
	secret := make([]byte, secretBytes)
	if _, err := io.ReadFull(t.opts.Rand, secret); err != nil {
		return mfa.Enrollment{}, fmt.Errorf("begin totp enrollment for user %q: read random: %w", u.ID, err)
	}
	account := u.UserName
	if account == "" {
		account = u.ID
	}
	uri := t.keyURI(account, secret)
	qr, err := qrPNG(uri)
	if err != nil {
		return mfa.Enrollment{}, fmt.Errorf("begin totp enrollment for user %q: %w", u.ID, err)
	}
	id, err := t.pending.Put(enrollment{userID: u.ID, name: name, secret: secret})
	if err != nil {
		return mfa.Enrollment{}, fmt.Errorf("begin totp enrollment for user %q: %w", u.ID, err)
	}
	return mfa.Enrollment{ID: id, Secret: b32.EncodeToString(secret), URI: uri, QRPNG: qr}, nil
}

// FinishEnroll stores the pending secret as a factor once response is a valid code for
// it. A wrong code leaves the enrollment pending, so a typo does not force a rescan.
// The confirming code's step is burned: it cannot then be used to sign in.
func (t *TOTP) FinishEnroll(ctx context.Context, u store.User, enrollmentID string, response []byte) (mfa.Factor, error) {
	fail := func(err error) (mfa.Factor, error) {
		return mfa.Factor{}, fmt.Errorf("finish totp enrollment for user %q: %w", u.ID, err)
	}
	p, ok := t.pending.Peek(enrollmentID)
	if !ok || p.userID != u.ID {
		// Another user's enrollment id is treated as unknown, and left alone.
		return fail(mfa.ErrExpired)
	}
	code, ok := parseCode(response)
	if !ok {
		return fail(mfa.ErrInvalid)
	}
	step, matched, err := t.match(p.secret, code, t.currentStep())
	if err != nil {
		return fail(err)
	}
	if !matched {
		return fail(mfa.ErrInvalid)
	}
	if err := t.checkRoom(ctx, u.ID); err != nil {
		return fail(err)
	}
	if _, ok := t.pending.Take(enrollmentID); !ok {
		// A concurrent FinishEnroll with the same id got there first.
		return fail(mfa.ErrExpired)
	}
	idb := make([]byte, idBytes)
	if _, err := io.ReadFull(t.opts.Rand, idb); err != nil {
		return fail(fmt.Errorf("read random: %w", err))
	}
	id := hex.EncodeToString(idb)
	sealed, err := t.sealer.Seal(p.secret, sealLabel(u.ID, id))
	if err != nil {
		return fail(err)
	}
	c, err := t.st.PutCredential(ctx, store.Credential{
		UserID: u.ID,
		Type:   mfa.TypeTOTP,
		ID:     id,
		Secret: sealed,
		Data:   map[string]string{dataName: p.name, dataLastStep: strconv.FormatInt(step, 10)},
	})
	if err != nil {
		return fail(err)
	}
	return factor(c), nil
}

// BeginVerify implements mfa.Method. TOTP needs no challenge; it only reports whether
// u has a factor (mfa.ErrNotEnrolled otherwise).
func (t *TOTP) BeginVerify(ctx context.Context, u store.User) (mfa.Challenge, error) {
	creds, err := t.credentials(ctx, u.ID)
	if err != nil {
		return mfa.Challenge{}, fmt.Errorf("begin totp verification for user %q: %w", u.ID, err)
	}
	if len(creds) == 0 {
		return mfa.Challenge{}, fmt.Errorf("begin totp verification for user %q: %w", u.ID, mfa.ErrNotEnrolled)
	}
	return mfa.Challenge{}, nil
}

// FinishVerify checks a six-digit code against every TOTP factor of u, within Skew
// steps of now. A code whose step is not after the factor's last accepted step is
// mfa.ErrReplay; the accepted step is burned before success is returned. challengeID
// is ignored.
func (t *TOTP) FinishVerify(ctx context.Context, u store.User, _ string, response []byte) (mfa.Result, error) {
	fail := func(err error) (mfa.Result, error) {
		return mfa.Result{}, fmt.Errorf("verify totp code of user %q: %w", u.ID, err)
	}
	code, ok := parseCode(response)
	if !ok {
		return fail(mfa.ErrInvalid)
	}
	creds, err := t.credentials(ctx, u.ID)
	if err != nil {
		return fail(err)
	}
	if len(creds) == 0 {
		return fail(mfa.ErrNotEnrolled)
	}
	cur := t.currentStep()
	var (
		hit     *store.Credential
		hitStep int64
		replay  bool
	)
	// Every factor is tried, even after a hit, so the time taken does not say which
	// of a user's apps a code came from.
	for i := range creds {
		secret, err := t.open(creds[i])
		if err != nil {
			return fail(err)
		}
		last, err := lastStep(creds[i])
		if err != nil {
			return fail(err)
		}
		step, matched, err := t.match(secret, code, cur)
		if err != nil {
			return fail(err)
		}
		switch {
		case !matched:
		case step <= last:
			replay = true
		case hit == nil:
			hit, hitStep = &creds[i], step
		}
	}
	if hit == nil {
		if replay {
			return fail(mfa.ErrReplay)
		}
		return fail(mfa.ErrInvalid)
	}
	now := t.opts.Now().UTC()
	_, err = t.update(ctx, *hit, func(c *store.Credential) error {
		last, err := lastStep(*c)
		if err != nil {
			return err
		}
		if hitStep <= last {
			// A concurrent verification burned this step (or a later one) first.
			return mfa.ErrReplay
		}
		c.Data[dataLastStep] = strconv.FormatInt(hitStep, 10)
		c.Data[dataLastUsedAt] = now.Format(time.RFC3339Nano)
		return nil
	})
	if err != nil {
		return fail(err)
	}
	return mfa.Result{FactorID: hit.ID, AMR: []string{"otp"}}, nil
}

// List implements mfa.Method.
func (t *TOTP) List(ctx context.Context, userID string) ([]mfa.Factor, error) {
	creds, err := t.credentials(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list totp factors of user %q: %w", userID, err)
	}
	out := make([]mfa.Factor, 0, len(creds))
	for _, c := range creds {
		out = append(out, factor(c))
	}
	return out, nil
}

// Rename implements mfa.Method.
func (t *TOTP) Rename(ctx context.Context, userID, factorID, name string) error {
	name, err := checkName(name, false)
	if err != nil {
		return fmt.Errorf("rename totp factor %s of user %q: %w", factorID, userID, err)
	}
	c, err := t.get(ctx, userID, factorID)
	if err != nil {
		return fmt.Errorf("rename totp factor %s of user %q: %w", factorID, userID, err)
	}
	_, err = t.update(ctx, c, func(c *store.Credential) error {
		c.Data[dataName] = name
		return nil
	})
	if err != nil {
		return fmt.Errorf("rename totp factor %s of user %q: %w", factorID, userID, err)
	}
	return nil
}

// Remove implements mfa.Method; an unknown factorID is mfa.ErrNotEnrolled.
func (t *TOTP) Remove(ctx context.Context, userID, factorID string) error {
	if err := t.st.DeleteCredential(ctx, userID, mfa.TypeTOTP, factorID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = mfa.ErrNotEnrolled
		}
		return fmt.Errorf("remove totp factor %s of user %q: %w", factorID, userID, err)
	}
	return nil
}

// params are the code parameters. Production uses appParams only; the type exists so
// the RFC 6238 test vectors (8 digits, three hashes) exercise the same code path.
type params struct {
	digits otp.Digits
	period int64 // seconds
	alg    otp.Algorithm
}

var appParams = params{digits: otp.DigitsSix, period: int64(Period / time.Second), alg: otp.AlgorithmSHA1}

// code returns the code of secret for time step step (RFC 6238 §4.2: T = floor(unix/X)).
func (p params) code(secret []byte, step int64) (string, error) {
	c, err := totp.GenerateCodeCustom(b32.EncodeToString(secret), time.Unix(step*p.period, 0), totp.ValidateOpts{
		Period:    uint(p.period),
		Digits:    p.digits,
		Algorithm: p.alg,
	})
	if err != nil {
		return "", fmt.Errorf("compute totp code: %w", err)
	}
	return c, nil
}

// currentStep is the RFC 6238 time step of now.
func (t *TOTP) currentStep() int64 {
	u := t.opts.Now().Unix()
	s := u / t.params.period
	if u%t.params.period < 0 {
		s-- // floor, not truncation, before 1970
	}
	return s
}

// match walks the window cur-Skew .. cur+Skew and returns the latest step whose code
// equals code. The comparison is constant-time and the whole window is always walked,
// so timing says nothing about how close a guess was. pquerna's own validator is not
// used: it reports only whether some step matched, and burning needs which one.
func (t *TOTP) match(secret []byte, code string, cur int64) (step int64, ok bool, err error) {
	skew := int64(t.opts.Skew)
	for s := cur - skew; s <= cur+skew; s++ {
		want, err := t.params.code(secret, s)
		if err != nil {
			return 0, false, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			step, ok = s, true
		}
	}
	return step, ok, nil
}

// update applies fn to a copy of c and stores it with c's Version (compare-and-swap).
// On a conflict it re-reads the credential and applies fn again, so an unrelated
// concurrent write (a rename) does not fail the call while fn still sees, and can
// refuse, a concurrent burn. A credential deleted meanwhile is mfa.ErrNotEnrolled: a
// write never brings a removed factor back.
func (t *TOTP) update(ctx context.Context, c store.Credential, fn func(*store.Credential) error) (store.Credential, error) {
	for attempt := 0; ; attempt++ {
		next := c
		next.Data = maps.Clone(c.Data)
		if next.Data == nil {
			next.Data = map[string]string{}
		}
		if err := fn(&next); err != nil {
			return store.Credential{}, err
		}
		saved, err := t.st.PutCredential(ctx, next)
		if err == nil {
			return saved, nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt == updateRetries {
			return store.Credential{}, err
		}
		if c, err = t.get(ctx, c.UserID, c.ID); err != nil {
			return store.Credential{}, err
		}
	}
}

func (t *TOTP) get(ctx context.Context, userID, id string) (store.Credential, error) {
	c, err := t.st.GetCredential(ctx, userID, mfa.TypeTOTP, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Credential{}, fmt.Errorf("%w: %w", mfa.ErrNotEnrolled, err)
	}
	return c, err
}

// credentials returns userID's TOTP credentials.
func (t *TOTP) credentials(ctx context.Context, userID string) ([]store.Credential, error) {
	all, err := t.st.ListCredentials(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []store.Credential
	for _, c := range all {
		if c.Type == mfa.TypeTOTP {
			out = append(out, c)
		}
	}
	return out, nil
}

// checkRoom refuses a new factor when the user has MaxFactors already.
func (t *TOTP) checkRoom(ctx context.Context, userID string) error {
	creds, err := t.credentials(ctx, userID)
	if err != nil {
		return err
	}
	if len(creds) >= MaxFactors {
		return fmt.Errorf("%d enrolled: %w", len(creds), ErrTooMany)
	}
	return nil
}

func (t *TOTP) open(c store.Credential) ([]byte, error) {
	secret, err := t.sealer.Open(c.Secret, sealLabel(c.UserID, c.ID))
	if err != nil {
		return nil, fmt.Errorf("open secret of totp factor %s: %w", c.ID, err)
	}
	return secret, nil
}

// sealLabel binds a sealed secret to its record, so a secret copied onto another
// factor or user does not open.
func sealLabel(userID, id string) []byte {
	return []byte(sealLabelPrefix + userID + "/" + id)
}

func lastStep(c store.Credential) (int64, error) {
	v, ok := c.Data[dataLastStep]
	if !ok {
		return math.MinInt64, nil
	}
	s, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		// Fail closed: without the last step, replays cannot be refused.
		return 0, fmt.Errorf("totp factor %s: unreadable %s %q", c.ID, dataLastStep, v)
	}
	return s, nil
}

func factor(c store.Credential) mfa.Factor {
	f := mfa.Factor{ID: c.ID, Type: mfa.TypeTOTP, Name: c.Data[dataName], CreatedAt: c.CreatedAt}
	if v, ok := c.Data[dataLastUsedAt]; ok {
		if at, err := time.Parse(time.RFC3339Nano, v); err == nil {
			f.LastUsedAt = at
		}
	}
	return f
}

// parseCode accepts exactly six ASCII digits, ignoring spaces and tabs (apps show
// "123 456"). Anything else is refused before any secret is touched.
func parseCode(response []byte) (string, bool) {
	if len(response) > maxCodeInput {
		return "", false
	}
	var out [Digits]byte
	n := 0
	for _, b := range response {
		switch {
		case b == ' ' || b == '\t':
		case b >= '0' && b <= '9' && n < Digits:
			out[n] = b
			n++
		default:
			return "", false
		}
	}
	if n != Digits {
		return "", false
	}
	return string(out[:]), true
}

// checkName validates a factor name; empty becomes DefaultName when allowed.
func checkName(name string, allowEmpty bool) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "" && allowEmpty:
		return DefaultName, nil
	case name == "":
		return "", fmt.Errorf("%w: must not be empty", ErrName)
	case !utf8.ValidString(name):
		return "", fmt.Errorf("%w: not valid UTF-8", ErrName)
	case utf8.RuneCountInString(name) > maxNameLen:
		return "", fmt.Errorf("%w: longer than %d characters", ErrName, maxNameLen)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", fmt.Errorf("%w: contains control characters", ErrName)
	}
	return name, nil
}

// keyURI builds the otpauth URI (Google Authenticator Key Uri Format):
// otpauth://totp/Issuer:account?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30.
// Spaces are %20, not "+", which some apps show literally.
func (t *TOTP) keyURI(account string, secret []byte) string {
	var sb strings.Builder
	sb.WriteString("otpauth://totp/")
	sb.WriteString(url.PathEscape(t.opts.Issuer))
	sb.WriteString(":")
	sb.WriteString(url.PathEscape(labelPart(account)))
	sb.WriteString("?secret=")
	sb.WriteString(b32.EncodeToString(secret))
	sb.WriteString("&issuer=")
	sb.WriteString(strings.ReplaceAll(url.QueryEscape(t.opts.Issuer), "+", "%20"))
	fmt.Fprintf(&sb, "&algorithm=%s&digits=%d&period=%d", t.params.alg, t.params.digits.Length(), t.params.period)
	return sb.String()
}

// labelPart makes s usable as half of an otpauth label: neither the issuer nor the
// account may contain a colon, the label's separator.
func labelPart(s string) string {
	return strings.ReplaceAll(s, ":", "_")
}

// qrPNG renders uri as a qrSize x qrSize QR code, server-side, so the secret never
// goes to a third-party QR service.
func qrPNG(uri string) ([]byte, error) {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return nil, fmt.Errorf("parse otpauth uri: %w", err)
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return nil, fmt.Errorf("render qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode qr code: %w", err)
	}
	return buf.Bytes(), nil
}
