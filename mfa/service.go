package mfa

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/regulate"
	"github.com/portcullis-id/portcullis/store"
)

// Audit actions recorded by Service.
const (
	ActionVerify  = "login.mfa"
	ActionWarning = "mfa.warning"
	ActionReset   = "mfa.reset"
)

// ScopeMFA is the regulator scope of per-user second-factor failures. It is kept apart
// from the password's user-name scope: a user locked out of the second factor can
// still be told their password was right, and vice versa, without either limit
// resetting the other. The address scope is shared with passwords (regulate.ScopeIP),
// so guesses of either kind from one source add up.
const ScopeMFA = "mfa"

// AMRRecovery is the RFC 8176 §2 value a recovery code contributes: "otp". A recovery
// code is literally a one-time password, a secret valid once that proves possession of
// the sheet it was printed on. "kba" would be wrong (the user is not answering
// questions about themselves), and "pwd" would make a password plus a recovery code
// look like one factor used twice. Relying parties that need more than "something the
// user has" should ask for a phishing-resistant acr, which recovery codes never meet.
const AMRRecovery = "otp"

// ErrNotDiscoverable: VerifyDiscoverable was asked to use a method that cannot
// identify a user by itself.
var ErrNotDiscoverable = errors.New("second-factor method cannot identify the user")

// RecoveryCodes is what Service needs of the recovery-code store (*recovery.Codes).
// It is an interface here because package recovery depends on this one for its errors.
type RecoveryCodes interface {
	// Use spends code and returns how many are left.
	Use(ctx context.Context, userID, code string) (remaining int, err error)
	Remaining(ctx context.Context, userID string) (int, error)
	Delete(ctx context.Context, userID string) error
}

// DefaultUserLimits locks a user's second factor for 15 minutes after 5 failures in 15
// minutes (NIST SP 800-63B §5.2.2 requires a limit). A six-digit code with a ±1-step
// window is guessed with probability 3·10⁻⁶ per try, so an attacker who already holds
// the password gets about 480 tries and a 0.15% chance a day: small, but not nothing,
// which is why every failure is audited.
func DefaultUserLimits() regulate.Limits {
	return regulate.Limits{MaxFailures: 5, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
}

// DefaultIPLimits locks a source address (an IPv6 /64) after 50 failures in 15 minutes,
// the same limits passwords use, since the scope is shared.
func DefaultIPLimits() regulate.Limits {
	return regulate.Limits{MaxFailures: 50, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
}

// ServiceOptions wires a Service. Zero fields take defaults: no recovery codes, a
// private Regulator, DefaultUserLimits, DefaultIPLimits, no audit trail, time.Now.
type ServiceOptions struct {
	Methods []Method
	// Recovery is the recovery-code store (a *recovery.Codes), or nil for none. Pass
	// an untyped nil, not a nil *recovery.Codes.
	Recovery   RecoveryCodes
	Regulator  *regulate.Regulator
	UserLimits regulate.Limits
	IPLimits   regulate.Limits
	Audit      audit.Recorder
	Now        func() time.Time
	// MinDuration is the least time Verify takes whatever the outcome, so the answer's
	// timing tells nothing about which check failed (as for passwords). Zero: none.
	MinDuration time.Duration
	// Sleep waits (tests replace it); default: a timer that honours ctx.
	Sleep func(ctx context.Context, d time.Duration)
}

// Service is the one door to every second factor: it regulates attempts per user and
// per source address, dispatches to the method, and audits the outcome. It is safe for
// concurrent use.
type Service struct {
	methods  []Method
	byType   map[string]Method
	recovery RecoveryCodes
	reg      *regulate.Regulator
	user, ip regulate.Limits
	audit    audit.Recorder

	minDuration time.Duration
	sleep       func(context.Context, time.Duration)
	now         func() time.Time
}

// NewService builds a Service. It panics when two methods share a type, or a method
// claims the recovery type: both are wiring mistakes.
func NewService(opts ServiceOptions) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Regulator == nil {
		opts.Regulator = regulate.New(opts.Now)
	}
	if opts.UserLimits == (regulate.Limits{}) {
		opts.UserLimits = DefaultUserLimits()
	}
	if opts.IPLimits == (regulate.Limits{}) {
		opts.IPLimits = DefaultIPLimits()
	}
	if opts.Audit == nil {
		opts.Audit = audit.Discard{}
	}
	if opts.Sleep == nil {
		opts.Sleep = func(ctx context.Context, d time.Duration) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
		}
	}
	s := &Service{
		minDuration: opts.MinDuration,
		sleep:       opts.Sleep,
		now:         opts.Now,
		byType:      make(map[string]Method, len(opts.Methods)),
		recovery:    opts.Recovery,
		reg:         opts.Regulator,
		user:        opts.UserLimits,
		ip:          opts.IPLimits,
		audit:       opts.Audit,
	}
	for _, m := range opts.Methods {
		typ := m.Type()
		if _, dup := s.byType[typ]; dup || typ == TypeRecovery || typ == "" {
			panic(fmt.Sprintf("mfa.NewService: method type %q is empty, reserved or registered twice", typ))
		}
		s.byType[typ] = m
		s.methods = append(s.methods, m)
	}
	return s
}

// Method returns the method of type typ.
func (s *Service) Method(typ string) (Method, bool) {
	m, ok := s.byType[typ]
	return m, ok
}

// Factors lists userID's factors across methods, in registration order, followed by
// one entry standing for the recovery codes when any are left.
func (s *Service) Factors(ctx context.Context, userID string) ([]Factor, error) {
	var out []Factor
	for _, m := range s.methods {
		fs, err := m.List(ctx, userID)
		if err != nil {
			return nil, fmt.Errorf("list %s factors of user %q: %w", m.Type(), userID, err)
		}
		out = append(out, fs...)
	}
	if s.recovery != nil {
		n, err := s.RecoveryCodesLeft(ctx, userID)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			out = append(out, Factor{ID: TypeRecovery, Type: TypeRecovery, Name: fmt.Sprintf("Recovery codes (%d left)", n)})
		}
	}
	return out, nil
}

// RecoveryCodesLeft returns how many unused recovery codes userID holds (0 when the
// Service has no recovery-code store).
func (s *Service) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	if s.recovery == nil {
		return 0, nil
	}
	n, err := s.recovery.Remaining(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("count recovery codes of user %q: %w", userID, err)
	}
	return n, nil
}

// Enrolled reports whether userID has a TOTP or WebAuthn factor. Recovery codes alone
// do not count: they back up a factor, they are not one to sign in with every day.
func (s *Service) Enrolled(ctx context.Context, userID string) (bool, error) {
	for _, typ := range []string{TypeTOTP, TypeWebAuthn} {
		m, ok := s.byType[typ]
		if !ok {
			continue
		}
		fs, err := m.List(ctx, userID)
		if err != nil {
			return false, fmt.Errorf("list %s factors of user %q: %w", typ, userID, err)
		}
		if len(fs) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// Verify checks a second factor of u: a code or assertion of method typ, or a recovery
// code when typ is TypeRecovery. It returns a *ThrottledError (matching ErrThrottled)
// while u's second factor or the source address is locked, before looking at the
// response. A response that does not verify (ErrInvalid, ErrReplay, ErrExpired,
// ErrNotEnrolled, wrapped) counts as a failure against both; any other error (the
// store is down) is returned without counting, so an outage locks nobody out.
func (s *Service) Verify(ctx context.Context, u store.User, typ, challengeID string, response []byte, sourceIP string) (Result, error) {
	if s.minDuration > 0 {
		start := s.now()
		defer func() {
			if rest := s.minDuration - s.now().Sub(start); rest > 0 {
				s.sleep(ctx, rest)
			}
		}()
	}
	keys := s.keys(u.ID, sourceIP)
	method := typ
	if _, known := s.byType[typ]; !known && typ != TypeRecovery {
		method = "unknown" // typ comes from the request: keep it out of the trail
	}
	ev := audit.Event{Actor: u.UserName, Action: ActionVerify, Target: u.ID, SourceIP: sourceIP, Details: map[string]string{"method": method}}
	if err := s.reg.Check(keys...); err != nil {
		return Result{}, s.throttled(ctx, ev, err)
	}

	var (
		res       Result
		remaining = -1
		err       error
	)
	if typ == TypeRecovery {
		if s.recovery == nil {
			err = ErrNotEnrolled
		} else if remaining, err = s.recovery.Use(ctx, u.ID, string(response)); err == nil {
			res = Result{FactorID: TypeRecovery, AMR: []string{AMRRecovery}}
		}
	} else if m, ok := s.byType[typ]; ok {
		res, err = m.FinishVerify(ctx, u, challengeID, response)
	} else {
		err = ErrNotEnrolled
	}
	if err != nil {
		// A refusal can carry a warning (a WebAuthn sign count that went backwards: a
		// possibly cloned key); it is audited on its own so it cannot be lost.
		s.warn(ctx, ev, res)
		return Result{}, s.failed(ctx, ev, keys, fmt.Errorf("verify %s factor of user %q: %w", typ, u.ID, err))
	}

	s.reg.Succeed(keys...)
	if remaining >= 0 {
		ev.Details["remaining"] = strconv.Itoa(remaining)
	}
	s.succeeded(ctx, ev, res)
	return res, nil
}

// VerifyDiscoverable signs in with a method that identifies the user by itself (a
// passkey). The source address is checked before the response is looked at; the
// user's second-factor lock once the response has named the user, so a locked user
// stays locked whatever factor they present.
func (s *Service) VerifyDiscoverable(ctx context.Context, typ, challengeID string, response []byte, sourceIP string) (store.User, Result, error) {
	m, ok := s.byType[typ]
	d, isD := m.(Discoverable)
	if !ok || !isD {
		return store.User{}, Result{}, fmt.Errorf("verify discoverable %q credential: %w", typ, ErrNotDiscoverable)
	}
	ev := audit.Event{Action: ActionVerify, SourceIP: sourceIP, Details: map[string]string{"method": typ, "discoverable": "true"}}
	ipKeys := s.keys("", sourceIP)
	if err := s.reg.Check(ipKeys...); err != nil {
		return store.User{}, Result{}, s.throttled(ctx, ev, err)
	}
	u, res, err := d.FinishDiscoverable(ctx, challengeID, response)
	if err != nil {
		s.warn(ctx, ev, res)
		return store.User{}, Result{}, s.failed(ctx, ev, ipKeys, fmt.Errorf("verify discoverable %s credential: %w", typ, err))
	}
	ev.Actor, ev.Target = u.UserName, u.ID
	keys := s.keys(u.ID, sourceIP)
	if err := s.reg.Check(keys...); err != nil {
		return store.User{}, Result{}, s.throttled(ctx, ev, err)
	}
	s.reg.Succeed(keys...)
	s.succeeded(ctx, ev, res)
	return u, res, nil
}

// Reset removes every factor of every method and the recovery codes of userID (an
// administrator's MFA reset), recording actor. It carries on past a failure so as much
// as possible is removed, and returns every failure joined.
func (s *Service) Reset(ctx context.Context, userID, actor string) error {
	var (
		errs    []error
		removed int
	)
	for _, m := range s.methods {
		fs, err := m.List(ctx, userID)
		if err != nil {
			errs = append(errs, fmt.Errorf("list %s factors: %w", m.Type(), err))
			continue
		}
		for _, f := range fs {
			err := m.Remove(ctx, userID, f.ID)
			switch {
			case err == nil:
				removed++
			case errors.Is(err, ErrNotEnrolled):
				// Removed concurrently: the goal is met.
			default:
				errs = append(errs, fmt.Errorf("remove %s factor %s: %w", m.Type(), f.ID, err))
			}
		}
	}
	if s.recovery != nil {
		if err := s.recovery.Delete(ctx, userID); err != nil {
			errs = append(errs, fmt.Errorf("delete recovery codes: %w", err))
		}
	}
	ev := audit.Event{Actor: actor, Action: ActionReset, Target: userID, Outcome: audit.Success,
		Details: map[string]string{"factors_removed": strconv.Itoa(removed)}}
	err := errors.Join(errs...)
	if err != nil {
		ev.Outcome, ev.Reason = audit.Failure, "some factors could not be removed"
	}
	s.audit.Record(ctx, ev)
	if err != nil {
		return fmt.Errorf("reset second factors of user %q: %w", userID, err)
	}
	return nil
}

// keys returns the regulator keys: the user's second factor (when userID is set) and
// the source address (when known). An empty address gets no key rather than one that
// every caller without an address would share, letting one lock out all.
func (s *Service) keys(userID, sourceIP string) []regulate.Key {
	var keys []regulate.Key
	if userID != "" {
		keys = append(keys, regulate.Key{Scope: ScopeMFA, ID: userID, Limits: s.user})
	}
	if id := ipKeyID(sourceIP); id != "" {
		keys = append(keys, regulate.Key{Scope: regulate.ScopeIP, ID: id, Limits: s.ip})
	}
	return keys
}

// throttled audits a refused attempt and returns the caller-facing error.
func (s *Service) throttled(ctx context.Context, ev audit.Event, err error) error {
	var te *regulate.ThrottledError
	retry := time.Duration(0)
	if errors.As(err, &te) {
		retry = te.RetryAfter
	}
	ev.Outcome, ev.Reason = audit.Denied, "throttled"
	s.audit.Record(ctx, ev)
	return &ThrottledError{RetryAfter: retry}
}

// failed counts a failed verification (unless the failure was ours, not the user's),
// audits it and returns err.
func (s *Service) failed(ctx context.Context, ev audit.Event, keys []regulate.Key, err error) error {
	ev.Outcome = audit.Failure
	switch {
	case errors.Is(err, ErrInvalid):
		ev.Reason = "invalid"
	case errors.Is(err, ErrReplay):
		ev.Reason = "replay"
	case errors.Is(err, ErrExpired):
		ev.Reason = "expired"
	case errors.Is(err, ErrNotEnrolled):
		ev.Reason = "not enrolled"
	default:
		ev.Reason = "error"
	}
	if ev.Reason != "error" {
		s.reg.Fail(keys...)
	}
	s.audit.Record(ctx, ev)
	return err
}

// succeeded audits a verification and, separately, any warning it carried.
func (s *Service) succeeded(ctx context.Context, ev audit.Event, res Result) {
	ev.Outcome = audit.Success
	if res.FactorID != "" {
		ev.Details["factor"] = res.FactorID
	}
	s.audit.Record(ctx, ev)
	s.warn(ctx, ev, res)
}

// warn audits the warning a verification carried, if any.
func (s *Service) warn(ctx context.Context, ev audit.Event, res Result) {
	if res.Warning == "" {
		return
	}
	w := ev
	w.Action, w.Reason, w.Outcome = ActionWarning, res.Warning, audit.Denied
	if ev.Outcome == audit.Success {
		w.Outcome = audit.Success
	}
	w.Details = map[string]string{"method": ev.Details["method"], "factor": res.FactorID}
	s.audit.Record(ctx, w)
}

// ipKeyID reduces an address to what one attacker controls: an IPv4 address, or the
// /64 of an IPv6 one (RFC 6177: end sites get at least a /64). It must agree with the
// password path's reduction (idp/directory), since both count under regulate.ScopeIP.
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
