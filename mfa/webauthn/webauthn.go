package webauthn

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	gowebauthn "github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/store"
)

// Store is the part of the store the method needs.
type Store interface {
	store.Credentials
	GetUser(ctx context.Context, id string) (store.User, error)
}

// Options configure the relying party.
type Options struct {
	// RPID is the relying party id: the host of the issuer (no scheme, no port). It must
	// be a domain name; browsers and go-webauthn refuse IP addresses.
	RPID string
	// RPOrigins are the exact origins pages run on, e.g. the issuer's
	// "https://id.example.com" (scheme, host and port; no path). Each host must be RPID
	// or a subdomain of it.
	RPOrigins []string
	// RPDisplayName is shown by the browser at registration; default "Portcullis".
	RPDisplayName string
	// UserVerification is "preferred" (default), "required" or "discouraged", for
	// registration and second-factor verification. Passkey sign-in always requires it.
	UserVerification string
	// AllowedAAGUIDs, when not empty, limits registration to authenticators whose
	// AAGUID is listed. Attestation conveyance is "none", so the AAGUID is what the
	// authenticator and browser disclose, not an attested model: with "none" many
	// browsers report the all-zero AAGUID, and the all-zero AAGUID is refused when this
	// list is set. Treat it as a policy filter, not as proof of the hardware.
	AllowedAAGUIDs []string
	// ChallengeTTL bounds how long a begun ceremony can be finished; default 2m.
	ChallengeTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

const (
	defaultDisplayName  = "Portcullis"
	defaultChallengeTTL = 2 * time.Minute
	// maxPending bounds each table of begun ceremonies; passkey sign-in is begun by
	// anonymous clients, so it gets a table of its own and cannot crowd out the others.
	maxPending = 10000
	// maxResponse bounds the browser's JSON: go-webauthn's parsers have no limit.
	maxResponse = 64 << 10
	// maxCredentialID: WebAuthn L3 §5.1.3 limits credential ids to 1023 bytes.
	maxCredentialID = 1023
	// maxNameRunes bounds factor names.
	maxNameRunes = 64
)

// Keys of store.Credential.Data.
const (
	dataName         = "name"
	dataPasskey      = "passkey"
	dataLastUsed     = "last_used"
	dataCloneWarning = "clone_warning"
)

// ErrInvalidName: a factor name is empty (on rename), too long or has control
// characters.
var ErrInvalidName = errors.New("webauthn: a factor name must be 1 to 64 printable characters")

// WebAuthn is the WebAuthn second factor and passkey sign-in.
type WebAuthn struct {
	st      Store
	rp      *gowebauthn.WebAuthn
	uv      protocol.UserVerificationRequirement
	aaguids []uuid.UUID
	now     func() time.Time

	enrolls  *mfa.Pending[enrollState]
	verifies *mfa.Pending[verifyState]
	passkeys *mfa.Pending[gowebauthn.SessionData]
}

var (
	_ mfa.Method       = (*WebAuthn)(nil)
	_ mfa.Discoverable = (*WebAuthn)(nil)
)

// enrollState is a begun registration: bound to the user and the name asked for.
type enrollState struct {
	userID  string
	name    string
	session gowebauthn.SessionData
}

// verifyState is a begun second-factor verification, bound to the user.
type verifyState struct {
	userID  string
	session gowebauthn.SessionData
}

// New checks opts and returns the method.
func New(st Store, opts Options) (*WebAuthn, error) {
	if st == nil {
		return nil, errors.New("webauthn: nil store")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	uv := protocol.UserVerificationRequirement(opts.UserVerification)
	aaguids := make([]uuid.UUID, 0, len(opts.AllowedAAGUIDs))
	for _, s := range opts.AllowedAAGUIDs {
		id, _ := uuid.Parse(s) // checked by withDefaults
		aaguids = append(aaguids, id)
	}
	rp, err := gowebauthn.New(&gowebauthn.Config{
		RPID:                  opts.RPID,
		RPDisplayName:         opts.RPDisplayName,
		RPOrigins:             opts.RPOrigins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementPreferred,
			RequireResidentKey: protocol.ResidentKeyNotRequired(),
			UserVerification:   uv,
		},
		// The browser's timeout matches ours; expiry itself is enforced by mfa.Pending
		// with the injected clock.
		Timeouts: gowebauthn.TimeoutsConfig{
			Login:        gowebauthn.TimeoutConfig{Timeout: opts.ChallengeTTL, TimeoutUVD: opts.ChallengeTTL},
			Registration: gowebauthn.TimeoutConfig{Timeout: opts.ChallengeTTL, TimeoutUVD: opts.ChallengeTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn: relying party: %w", err)
	}
	return &WebAuthn{
		st: st, rp: rp, uv: uv, aaguids: aaguids, now: opts.Now,
		enrolls:  mfa.NewPending[enrollState](opts.ChallengeTTL, maxPending, opts.Now),
		verifies: mfa.NewPending[verifyState](opts.ChallengeTTL, maxPending, opts.Now),
		passkeys: mfa.NewPending[gowebauthn.SessionData](opts.ChallengeTTL, maxPending, opts.Now),
	}, nil
}

// withDefaults fills zero fields and reports every problem at once.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	if o.RPDisplayName == "" {
		o.RPDisplayName = defaultDisplayName
	}
	if o.UserVerification == "" {
		o.UserVerification = string(protocol.VerificationPreferred)
	}
	if o.ChallengeTTL == 0 {
		o.ChallengeTTL = defaultChallengeTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RPID == "" {
		errs = append(errs, errors.New("rp_id: required: the host name of the issuer"))
	} else if err := protocol.ValidateRPID(o.RPID); err != nil || strings.ContainsAny(o.RPID, ":/") {
		errs = append(errs, fmt.Errorf("rp_id %q: must be a bare domain name such as id.example.com (no scheme, port or IP address)", o.RPID))
	}
	if len(o.RPOrigins) == 0 {
		errs = append(errs, errors.New("rp_origins: at least one origin is required, e.g. https://id.example.com"))
	}
	for i, origin := range o.RPOrigins {
		if err := checkOrigin(origin, o.RPID); err != nil {
			errs = append(errs, fmt.Errorf("rp_origins[%d] %q: %w", i, origin, err))
		}
	}
	switch protocol.UserVerificationRequirement(o.UserVerification) {
	case protocol.VerificationPreferred, protocol.VerificationRequired, protocol.VerificationDiscouraged:
	default:
		errs = append(errs, fmt.Errorf("user_verification %q: use preferred, required or discouraged", o.UserVerification))
	}
	for i, s := range o.AllowedAAGUIDs {
		switch id, err := uuid.Parse(s); {
		case err != nil:
			errs = append(errs, fmt.Errorf("allowed_aaguids[%d] %q: not a UUID", i, s))
		case id == uuid.Nil:
			errs = append(errs, fmt.Errorf("allowed_aaguids[%d]: the all-zero AAGUID means the model is undisclosed; remove it or empty the list", i))
		}
	}
	if o.ChallengeTTL < 0 {
		errs = append(errs, fmt.Errorf("challenge_ttl %s: must be positive", o.ChallengeTTL))
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("webauthn options: %w", err)
	}
	return o, nil
}

// checkOrigin requires scheme://host[:port] whose host is rpID or below it (WebAuthn
// L2 §5.1.4.1 step 7: the RP ID must be a registrable suffix of the origin's domain).
func checkOrigin(origin, rpID string) error {
	u, err := url.Parse(origin)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must be scheme://host[:port], e.g. https://id.example.com")
	}
	host := strings.ToLower(u.Hostname())
	rpID = strings.ToLower(rpID)
	if rpID != "" && host != rpID && !strings.HasSuffix(host, "."+rpID) {
		return fmt.Errorf("host %q is neither rp_id %q nor below it", host, rpID)
	}
	return nil
}

// waUser adapts a directory user and their credentials to go-webauthn.
type waUser struct {
	u     store.User
	creds []gowebauthn.Credential
}

// WebAuthnID is the user handle: the user id, which is random and carries no PII.
func (w *waUser) WebAuthnID() []byte { return []byte(w.u.ID) }

func (w *waUser) WebAuthnName() string { return w.u.UserName }

func (w *waUser) WebAuthnDisplayName() string {
	if w.u.DisplayName != "" {
		return w.u.DisplayName
	}
	return w.u.UserName
}

func (w *waUser) WebAuthnCredentials() []gowebauthn.Credential { return w.creds }

// record is a stored credential together with its decoded go-webauthn form.
type record struct {
	stored store.Credential
	cred   gowebauthn.Credential
}

// records returns the user's WebAuthn credentials.
func (w *WebAuthn) records(ctx context.Context, userID string) ([]record, error) {
	all, err := w.st.ListCredentials(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("webauthn: list credentials of user %q: %w", userID, err)
	}
	var out []record
	for _, c := range all {
		if c.Type != mfa.TypeWebAuthn {
			continue
		}
		r, err := decodeRecord(c)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func decodeRecord(c store.Credential) (record, error) {
	var cred gowebauthn.Credential
	if err := json.Unmarshal(c.Secret, &cred); err != nil {
		return record{}, fmt.Errorf("webauthn: decode credential %s of user %q: %w", c.ID, c.UserID, err)
	}
	if credentialID(cred.ID) != c.ID {
		return record{}, fmt.Errorf("webauthn: credential %s of user %q holds id %s", c.ID, c.UserID, credentialID(cred.ID))
	}
	// The warning is about one assertion; a stored one must not leak into the next.
	cred.Authenticator.CloneWarning = false
	return record{stored: c, cred: cred}, nil
}

func newWAUser(u store.User, recs []record) *waUser {
	wu := &waUser{u: u}
	for _, r := range recs {
		wu.creds = append(wu.creds, r.cred)
	}
	return wu
}

// credentialID is the store id of a credential: its raw id, base64url without padding
// (the form browsers use for PublicKeyCredential.id).
func credentialID(raw []byte) string { return base64.RawURLEncoding.EncodeToString(raw) }

// checkUserHandle: the user handle is the user id, which WebAuthn limits to 1-64 bytes
// (L2 §5.4.3).
func checkUserHandle(u store.User) error {
	if n := len(u.ID); n == 0 || n > 64 {
		return fmt.Errorf("webauthn: user id %q is not usable as a user handle (1-64 bytes)", u.ID)
	}
	return nil
}

// cleanName trims and checks a factor name; "" stays "" for the caller to default.
func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxNameRunes {
		return "", ErrInvalidName
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "", ErrInvalidName
		}
	}
	return name, nil
}

// refused wraps a verification failure: the sentinel for the caller, the reason and
// go-webauthn's developer detail for the log.
func refused(sentinel error, what string, cause error) error {
	if cause == nil {
		return fmt.Errorf("webauthn: %s: %w", what, sentinel)
	}
	var pe *protocol.Error
	if errors.As(cause, &pe) && pe.DevInfo != "" {
		return fmt.Errorf("webauthn: %s: %w: %s (%s)", what, sentinel, pe.Details, pe.DevInfo)
	}
	return fmt.Errorf("webauthn: %s: %w: %v", what, sentinel, cause)
}

func copyData(d map[string]string) map[string]string {
	out := make(map[string]string, len(d)+1)
	for k, v := range d {
		out[k] = v
	}
	return out
}
