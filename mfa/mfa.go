package mfa

import (
	"context"
	"errors"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

// Method types; also the store.Credential Type of their records.
const (
	TypeTOTP     = store.CredentialTOTP
	TypeWebAuthn = store.CredentialWebAuthn
	TypeRecovery = store.CredentialRecovery
)

// Errors every method returns (wrapped) so callers can react without knowing the method.
var (
	// ErrInvalid: the code, assertion or attestation did not verify.
	ErrInvalid = errors.New("second factor did not verify")
	// ErrReplay: the code or challenge was already used.
	ErrReplay = errors.New("second factor already used")
	// ErrExpired: the pending enrollment or challenge is unknown or expired.
	ErrExpired = errors.New("challenge expired or unknown")
	// ErrNotEnrolled: the user has no factor of this method.
	ErrNotEnrolled = errors.New("no such factor enrolled")
	// ErrThrottled: too many failed attempts; see *ThrottledError for when to retry.
	ErrThrottled = errors.New("too many failed second-factor attempts")
)

// ThrottledError says how long the user must wait.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return "too many failed second-factor attempts; try again in " + e.RetryAfter.Round(time.Second).String()
}

func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// Factor is one enrolled second factor, as the account page lists it.
type Factor struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// Passkey: a discoverable WebAuthn credential that can sign in without a user name.
	Passkey bool `json:"passkey,omitempty"`
}

// Enrollment is a pending enrollment handed to the page. Only the fields of the method
// are set.
type Enrollment struct {
	ID string // opaque handle, single-use, short-lived
	// TOTP: the base32 secret, the otpauth:// URI and its QR code as PNG.
	Secret string
	URI    string
	QRPNG  []byte
	// WebAuthn: PublicKeyCredentialCreationOptions as JSON, for the browser.
	Options []byte
}

// Challenge is a pending verification. TOTP needs none (ID is empty); WebAuthn carries
// PublicKeyCredentialRequestOptions as JSON.
type Challenge struct {
	ID      string
	Options []byte
}

// Result is what a successful verification proved.
type Result struct {
	FactorID string
	// AMR values per RFC 8176 this factor contributes, e.g. ["otp"], ["hwk","user"].
	AMR []string
	// UserVerified: the authenticator verified the user itself (PIN or biometric), so a
	// passkey alone counts as multi-factor.
	UserVerified bool
	// Warning is set when the factor verified but something is off (a WebAuthn sign
	// count that went backwards); the caller audits it.
	Warning string
}

// Method is one kind of second factor.
type Method interface {
	Type() string
	// BeginEnroll starts enrolling a new factor named name for u.
	BeginEnroll(ctx context.Context, u store.User, name string) (Enrollment, error)
	// FinishEnroll completes it with the browser's or the user's response (a TOTP code,
	// a WebAuthn attestation as JSON). The factor is active only after this succeeds.
	FinishEnroll(ctx context.Context, u store.User, enrollmentID string, response []byte) (Factor, error)
	// BeginVerify prepares a verification for u (ErrNotEnrolled when u has none).
	BeginVerify(ctx context.Context, u store.User) (Challenge, error)
	// FinishVerify checks the response (a code, an assertion as JSON). Callers go
	// through Service.Verify, which regulates attempts.
	FinishVerify(ctx context.Context, u store.User, challengeID string, response []byte) (Result, error)
	List(ctx context.Context, userID string) ([]Factor, error)
	Rename(ctx context.Context, userID, factorID, name string) error
	Remove(ctx context.Context, userID, factorID string) error
}

// Discoverable is a method that can identify the user by itself (passkeys): a
// user-name-less sign-in.
type Discoverable interface {
	BeginDiscoverable(ctx context.Context) (Challenge, error)
	// FinishDiscoverable returns the user the credential belongs to.
	FinishDiscoverable(ctx context.Context, challengeID string, response []byte) (store.User, Result, error)
}
