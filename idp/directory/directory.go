package directory

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/regulate"
	"github.com/portcullis-id/portcullis/store"
)

// Store is the part of the storage backend the directory uses.
type Store interface {
	GetUser(ctx context.Context, id string) (store.User, error)
	GetUserByName(ctx context.Context, userName string) (store.User, error)
	UpdateUser(ctx context.Context, u store.User) (store.User, error)
	GroupsOfUser(ctx context.Context, userID string) ([]store.Group, error)
	GetCredential(ctx context.Context, userID, typ, id string) (store.Credential, error)
	PutCredential(ctx context.Context, c store.Credential) (store.Credential, error)
	RevokeUserSessions(ctx context.Context, userID string) error
	RevokeUserRefreshTokens(ctx context.Context, userID string) ([]string, error)
}

var _ Store = store.Store(nil)

var (
	// ErrInvalidCredentials is the one answer for every way a user name and password
	// pair can be wrong, so that callers cannot tell them apart (no user enumeration).
	ErrInvalidCredentials = errors.New("invalid user name or password")
	// ErrThrottled is regulate.ErrThrottled: too many recent failures for the user
	// name or the source address. errors.As to *regulate.ThrottledError gives the
	// scope and RetryAfter.
	ErrThrottled = regulate.ErrThrottled
)

// Audit actions recorded by this package.
const (
	ActionLoginPassword   = "login.password"
	ActionPasswordSet     = "password.set"
	ActionPasswordSetHash = "password.set_hash"
	ActionUserDeactivate  = "user.deactivate"
)

// Defaults applied by New to zero-valued Options fields.
const (
	// DefaultMinDuration exceeds an OWASP-parameter argon2id verification (~25 ms) by
	// a wide margin, so store latency and the unknown-user path hide inside it.
	DefaultMinDuration = 250 * time.Millisecond
)

// DefaultUserLimits locks a user name for 15 minutes after 5 failures in 15 minutes.
// NIST SP 800-63B-4 §3.2.2 caps consecutive failures at 100; a short lockout keeps
// the denial-of-service cost of locking someone else out low.
func DefaultUserLimits() regulate.Limits {
	return regulate.Limits{MaxFailures: 5, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
}

// DefaultIPLimits locks a source address (an IPv6 /64) for 15 minutes after 50
// failures in 15 minutes, across all user names: the spraying defence.
func DefaultIPLimits() regulate.Limits {
	return regulate.Limits{MaxFailures: 50, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
}

const (
	maxAuditActorLen = 256 // user names in audit events are attacker-supplied
	deactivateTries  = 5   // optimistic-update retries on ErrConflict
)

// Options configures a Directory. Zero-valued fields take the defaults above.
type Options struct {
	Params Params // argon2id parameters for new hashes (DefaultParams)
	// Policy is the password-choice policy. Only an entirely zero Policy is replaced
	// by DefaultPolicy; a partly set one is used as given, so set Common to
	// LoadCommon() to keep the bundled list.
	Policy     Policy
	UserLimits regulate.Limits
	IPLimits   regulate.Limits
	// MinDuration is the least time Authenticate takes, whatever the outcome. A
	// negative value disables padding (benchmarks only).
	MinDuration time.Duration
	Now         func() time.Time
	Rand        io.Reader
	// Sleep waits d or until ctx is done.
	Sleep func(ctx context.Context, d time.Duration)
	// Actor names who is acting, for audit events of administrative calls
	// (SetPassword, Deactivate). Default: "system".
	Actor func(ctx context.Context) string
	Log   *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Params == (Params{}) {
		o.Params = DefaultParams()
	}
	if o.Policy.MinLength == 0 && o.Policy.MaxLength == 0 && o.Policy.Common == nil && o.Policy.ContextWords == nil {
		o.Policy = DefaultPolicy()
	}
	if o.UserLimits == (regulate.Limits{}) {
		o.UserLimits = DefaultUserLimits()
	}
	if o.IPLimits == (regulate.Limits{}) {
		o.IPLimits = DefaultIPLimits()
	}
	if o.MinDuration == 0 {
		o.MinDuration = DefaultMinDuration
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	if o.Actor == nil {
		o.Actor = func(context.Context) string { return "system" }
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every invalid option, after defaults are applied, naming each.
func (o Options) Validate() error {
	o.setDefaults()
	var errs []error
	if err := o.Params.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("params: %w", err))
	}
	if o.Policy.MinLength < 1 {
		errs = append(errs, fmt.Errorf("policy.min_length: %d, want at least 1", o.Policy.MinLength))
	}
	if o.Policy.MaxLength != 0 && o.Policy.MaxLength < o.Policy.MinLength {
		errs = append(errs, fmt.Errorf("policy.max_length: %d is below min_length %d", o.Policy.MaxLength, o.Policy.MinLength))
	}
	for _, l := range []struct {
		name   string
		limits regulate.Limits
	}{{"user_limits", o.UserLimits}, {"ip_limits", o.IPLimits}} {
		if l.limits.MaxFailures < 1 || l.limits.Window <= 0 || l.limits.Lockout <= 0 {
			errs = append(errs, fmt.Errorf("%s: max_failures, window and lockout must all be positive", l.name))
		}
	}
	return errors.Join(errs...)
}

// AuthResult is what a successful sign-in tells the login flow.
type AuthResult struct {
	MustChangePassword bool
}

// Directory manages local users' passwords and sign-in.
type Directory struct {
	st    Store
	reg   *regulate.Regulator
	rec   audit.Recorder
	opts  Options
	dummy string // PHC string verified for users that have no hash, to equalise cost
}

// New returns a Directory. A nil reg gets a private Regulator and a nil rec discards
// events (tests only). New panics if opts (after defaults) fails Validate: call
// Options.Validate when loading configuration for a readable error.
func New(st Store, reg *regulate.Regulator, rec audit.Recorder, opts Options) *Directory {
	if err := opts.Validate(); err != nil {
		panic(fmt.Sprintf("directory.New: invalid options: %v", err))
	}
	opts.setDefaults()
	if reg == nil {
		reg = regulate.New(opts.Now)
	}
	if rec == nil {
		rec = audit.Discard{}
	}
	// A well-formed hash with the configured parameters that no password matches
	// (the tag is all zeros), so verifying it costs exactly what a real one does.
	dummy := PHC{
		Params: opts.Params,
		Salt:   make([]byte, opts.Params.SaltLen),
		Key:    make([]byte, opts.Params.KeyLen),
	}.String()
	return &Directory{st: st, reg: reg, rec: rec, opts: opts, dummy: dummy}
}

// Authenticate checks userName and password. It returns ErrThrottled (wrapping a
// *regulate.ThrottledError) when the user name or the source address is locked,
// ErrInvalidCredentials for every kind of mismatch, and another error only when the
// store fails. Every outcome is audited, and the call takes at least MinDuration.
func (d *Directory) Authenticate(ctx context.Context, userName, password, sourceIP string) (store.User, AuthResult, error) {
	start := d.opts.Now()
	defer d.pad(ctx, start)
	ev := audit.Event{
		Actor:    truncateUTF8(userName, maxAuditActorLen),
		Action:   ActionLoginPassword,
		SourceIP: sourceIP,
	}
	u, res, err := d.authenticate(ctx, userName, password, sourceIP, &ev)
	d.rec.Record(ctx, ev)
	return u, res, err
}

func (d *Directory) authenticate(ctx context.Context, userName, password, sourceIP string, ev *audit.Event) (store.User, AuthResult, error) {
	keys := d.regulatorKeys(userName, sourceIP)
	// The user-name key exists whether or not the user does, so a lockout says
	// nothing about existence (OWASP Authentication Cheat Sheet).
	if err := d.reg.Check(keys...); err != nil {
		ev.Outcome, ev.Reason = audit.Denied, err.Error()
		return store.User{}, AuthResult{}, fmt.Errorf("password sign-in: %w", err)
	}
	fail := func(reason string, err error) (store.User, AuthResult, error) {
		d.reg.Fail(keys...)
		ev.Outcome, ev.Reason = audit.Failure, reason
		return store.User{}, AuthResult{}, err
	}
	if len(password) > maxPasswordBytes {
		d.verify(d.dummy, "")
		return fail("password too long", ErrInvalidCredentials)
	}

	u, err := d.st.GetUserByName(ctx, userName)
	if errors.Is(err, store.ErrNotFound) {
		d.verify(d.dummy, password)
		return fail("unknown user", ErrInvalidCredentials)
	}
	if err != nil {
		// A store outage is not the user's failure: do not count it.
		ev.Outcome, ev.Reason = audit.Failure, "look up user: "+err.Error()
		return store.User{}, AuthResult{}, fmt.Errorf("password sign-in: look up user: %w", err)
	}
	ev.Target = u.ID

	cred, err := d.st.GetCredential(ctx, u.ID, store.CredentialPassword, store.CredentialPassword)
	if errors.Is(err, store.ErrNotFound) {
		d.verify(d.dummy, password)
		return fail("no password credential", ErrInvalidCredentials)
	}
	if err != nil {
		ev.Outcome, ev.Reason = audit.Failure, "read password credential: "+err.Error()
		return store.User{}, AuthResult{}, fmt.Errorf("password sign-in: read password credential of user %s: %w", u.ID, err)
	}

	ok, rehash, err := d.verify(string(cred.Secret), password)
	switch {
	case err != nil:
		d.opts.Log.ErrorContext(ctx, "stored password hash is unusable; reset the password",
			"user_id", u.ID, "err", err)
		return fail("stored password hash unusable: "+err.Error(),
			fmt.Errorf("%w: stored hash of user %s: %w", ErrInvalidCredentials, u.ID, err))
	// Checked after the hash so an inactive account costs the same as an active one.
	case !u.Active:
		return fail("user inactive", ErrInvalidCredentials)
	case !ok:
		return fail("wrong password", ErrInvalidCredentials)
	}

	d.reg.Succeed(keys...)
	ev.Outcome = audit.Success
	ev.Details = map[string]string{"must_change_password": strconv.FormatBool(cred.MustChange)}
	if rehash {
		ev.Details["rehashed"] = strconv.FormatBool(d.rehash(ctx, cred, password))
	}
	return u, AuthResult{MustChangePassword: cred.MustChange}, nil
}

// verify checks password against phc. Passwords are hashed in NFKC form (SP 800-63B-4
// §3.1.1.2); a hash imported from a system that did not normalise is tried with the
// raw form as well and then flagged for rehash. The dummy path runs the same code, so
// the second attempt costs the same for unknown users.
func (d *Directory) verify(phc, password string) (ok, needsRehash bool, err error) {
	normalized := norm.NFKC.String(password)
	ok, needsRehash, err = Verify(phc, normalized, d.opts.Params)
	if err != nil || ok || normalized == password {
		return ok, needsRehash, err
	}
	ok, _, err = Verify(phc, password, d.opts.Params)
	return ok, ok, err
}

// rehash stores a hash of password with the current parameters, keeping the read
// Version so a concurrent change wins. It reports whether the new hash was stored;
// failure leaves the old, still valid hash in place.
func (d *Directory) rehash(ctx context.Context, cred store.Credential, password string) bool {
	phc, err := d.HashPassword(password)
	if err != nil {
		d.opts.Log.WarnContext(ctx, "rehash password", "user_id", cred.UserID, "err", err)
		return false
	}
	cred.Secret = []byte(phc)
	if _, err := d.st.PutCredential(ctx, cred); err != nil {
		if !errors.Is(err, store.ErrConflict) {
			d.opts.Log.WarnContext(ctx, "store rehashed password", "user_id", cred.UserID, "err", err)
		}
		return false
	}
	return true
}

// regulatorKeys returns the user-name key and, when the source is known, the address
// key. An empty sourceIP gets no address key rather than one shared by every caller
// that lacks an address, which would let one attacker lock everyone out.
func (d *Directory) regulatorKeys(userName, sourceIP string) []regulate.Key {
	keys := []regulate.Key{{Scope: regulate.ScopeUser, ID: strings.ToLower(userName), Limits: d.opts.UserLimits}}
	if id := ipKeyID(sourceIP); id != "" {
		keys = append(keys, regulate.Key{Scope: regulate.ScopeIP, ID: id, Limits: d.opts.IPLimits})
	}
	return keys
}

// ipKeyID reduces an address to what one attacker controls: an IPv4 address, or the
// /64 of an IPv6 one (RFC 6177: end sites are assigned at least a /64, so counting
// single IPv6 addresses would let one host rotate through 2^64 of them).
func ipKeyID(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return s
		}
		addr = ap.Addr()
	}
	addr = addr.WithZone("").Unmap()
	if addr.Is4() {
		return addr.String()
	}
	p, err := addr.Prefix(64)
	if err != nil {
		return addr.String()
	}
	return p.String()
}

// pad sleeps until MinDuration has passed since start (Authelia-style timing
// equaliser), honouring ctx.
func (d *Directory) pad(ctx context.Context, start time.Time) {
	if d.opts.MinDuration <= 0 {
		return
	}
	if rest := d.opts.MinDuration - d.opts.Now().Sub(start); rest > 0 {
		d.opts.Sleep(ctx, rest)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// SetPassword checks password against the policy (with the user's name), hashes it
// and stores it as the user's password credential. mustChange forces a change at the
// next sign-in. A refused password returns a *PolicyError.
func (d *Directory) SetPassword(ctx context.Context, userID, password string, mustChange bool) error {
	ev := audit.Event{Actor: d.opts.Actor(ctx), Action: ActionPasswordSet, Target: userID}
	err := d.setPassword(ctx, userID, password, mustChange, &ev)
	d.recordOutcome(ctx, &ev, err)
	return err
}

func (d *Directory) setPassword(ctx context.Context, userID, password string, mustChange bool, ev *audit.Event) error {
	u, err := d.st.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("set password: look up user %s: %w", userID, err)
	}
	if err := d.opts.Policy.Check(password, u.UserName); err != nil {
		return fmt.Errorf("set password for user %s: %w", userID, err)
	}
	phc, err := d.HashPassword(password)
	if err != nil {
		return fmt.Errorf("set password for user %s: %w", userID, err)
	}
	ev.Details = map[string]string{"must_change_password": strconv.FormatBool(mustChange)}
	return d.putPassword(ctx, userID, phc, mustChange)
}

// SetPasswordHash stores an existing argon2id PHC string (from an import or a
// declarative file) as the user's password, after validating it strictly.
func (d *Directory) SetPasswordHash(ctx context.Context, userID, phc string, mustChange bool) error {
	ev := audit.Event{Actor: d.opts.Actor(ctx), Action: ActionPasswordSetHash, Target: userID,
		Details: map[string]string{"must_change_password": strconv.FormatBool(mustChange)}}
	err := d.setPasswordHash(ctx, userID, phc, mustChange)
	d.recordOutcome(ctx, &ev, err)
	return err
}

func (d *Directory) setPasswordHash(ctx context.Context, userID, phc string, mustChange bool) error {
	if err := d.CheckHash(phc); err != nil {
		return fmt.Errorf("set password hash for user %s: %w", userID, err)
	}
	if _, err := d.st.GetUser(ctx, userID); err != nil {
		return fmt.Errorf("set password hash: look up user %s: %w", userID, err)
	}
	return d.putPassword(ctx, userID, phc, mustChange)
}

func (d *Directory) putPassword(ctx context.Context, userID, phc string, mustChange bool) error {
	// Version 0: replace whatever is stored; an administrative set wins over a
	// concurrent rehash.
	_, err := d.st.PutCredential(ctx, store.Credential{
		UserID:     userID,
		Type:       store.CredentialPassword,
		ID:         store.CredentialPassword,
		Secret:     []byte(phc),
		MustChange: mustChange,
	})
	if err != nil {
		return fmt.Errorf("store password of user %s: %w", userID, err)
	}
	return nil
}

// HashPassword hashes password (NFKC-normalised) with the configured parameters.
func (d *Directory) HashPassword(password string) (string, error) {
	return Hash(norm.NFKC.String(password), d.opts.Params, d.opts.Rand)
}

// CheckHash validates a PHC string without storing it (for configuration checks).
func (d *Directory) CheckHash(phc string) error {
	if _, err := ParsePHC(phc); err != nil {
		return fmt.Errorf("password hash: %w", err)
	}
	return nil
}

// CheckPolicy reports whether userName may choose password (*PolicyError if not).
func (d *Directory) CheckPolicy(password, userName string) error {
	return d.opts.Policy.Check(password, userName)
}

// GroupNames returns the display names of the user's groups, sorted, for the groups
// claim.
func (d *Directory) GroupNames(ctx context.Context, userID string) ([]string, error) {
	groups, err := d.st.GroupsOfUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("groups of user %s: %w", userID, err)
	}
	names := make([]string, 0, len(groups))
	for _, g := range groups {
		names = append(names, g.DisplayName)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// Deactivate marks the user inactive, then revokes their browser sessions and
// refresh tokens, in that order: once the flag is stored no new session or token can
// be issued, so nothing slips in between the revocations. It is idempotent.
func (d *Directory) Deactivate(ctx context.Context, userID string) error {
	ev := audit.Event{Actor: d.opts.Actor(ctx), Action: ActionUserDeactivate, Target: userID}
	err := d.deactivate(ctx, userID, &ev)
	d.recordOutcome(ctx, &ev, err)
	return err
}

func (d *Directory) deactivate(ctx context.Context, userID string, ev *audit.Event) error {
	if err := d.storeInactive(ctx, userID); err != nil {
		return err
	}
	if err := d.st.RevokeUserSessions(ctx, userID); err != nil {
		return fmt.Errorf("deactivate user %s: revoke sessions: %w", userID, err)
	}
	families, err := d.st.RevokeUserRefreshTokens(ctx, userID)
	if err != nil {
		return fmt.Errorf("deactivate user %s: revoke refresh tokens: %w", userID, err)
	}
	ev.Details = map[string]string{"refresh_families_revoked": strconv.Itoa(len(families))}
	return nil
}

// storeInactive sets Active=false with optimistic concurrency, retrying on conflict.
func (d *Directory) storeInactive(ctx context.Context, userID string) error {
	var err error
	for range deactivateTries {
		var u store.User
		if u, err = d.st.GetUser(ctx, userID); err != nil {
			return fmt.Errorf("deactivate user %s: %w", userID, err)
		}
		if !u.Active {
			return nil
		}
		u.Active = false
		if _, err = d.st.UpdateUser(ctx, u); err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("deactivate user %s: %w", userID, err)
		}
	}
	return fmt.Errorf("deactivate user %s: %d attempts: %w", userID, deactivateTries, err)
}

func (d *Directory) recordOutcome(ctx context.Context, ev *audit.Event, err error) {
	ev.Outcome = audit.Success
	if err != nil {
		ev.Outcome, ev.Reason = audit.Failure, err.Error()
	}
	d.rec.Record(ctx, *ev)
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
