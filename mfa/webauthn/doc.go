// Package webauthn is the WebAuthn second factor: security keys and passkeys, as an
// mfa.Method, and passkey sign-in without a user name, as an mfa.Discoverable.
//
// go-webauthn does the ceremony checks (challenge, origin, rpIdHash, UP/UV flags,
// signature, attestation format). This package does what go-webauthn leaves to the
// relying party:
//
//   - Challenges are single-use and short-lived: the session data lives in an
//     mfa.Pending and is taken (removed) before the response is even parsed, so a
//     replayed response finds nothing. go-webauthn itself accepts the same response twice
//     for the same session data.
//   - Credentials are looked up by (user, credential id), never by credential id alone,
//     so a credential id that another account registered cannot be confused with this
//     user's (WebAuthn L2 §7.1 step 22 guards RPs that index by id alone).
//   - The stored sign count, flags and last use are written back with the record's
//     Version: a concurrent use of the same credential loses with mfa.ErrReplay.
//   - Sign-count policy (WebAuthn L2 §6.1.1): when the stored or the new count is
//     non-zero, the new one must be greater. Synced passkeys report 0 every time and pass.
//     A regression is refused with mfa.ErrInvalid, the stored counter is left alone, the
//     record is marked with Data["clone_warning"], and Result.Warning (with FactorID) is
//     returned next to the error: callers audit a non-empty Warning even on failure.
//   - A passkey sign-in resolves the user from the user handle, requires user
//     verification, and refuses unknown users, unknown credentials and inactive users
//     alike with mfa.ErrInvalid.
//   - AMR (RFC 8176 §2): ["hwk"], plus "user" when the authenticator verified the user
//     (UV flag). Result.UserVerified carries the same fact; prefer it for decisions.
//
// Error texts carry the reason for the log; clients must be shown a fixed message
// chosen from the sentinel (errors.Is), never the text.
//
// The package does not decide whether a second factor is needed, does not render pages,
// does not regulate attempts (the caller goes through the regulator) and does not write
// audit events (the caller does, from Result.Warning and the error).
package webauthn
