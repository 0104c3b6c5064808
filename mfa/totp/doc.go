// Package totp is the authenticator-app second factor: time-based one-time passwords
// (RFC 6238) with the parameters every authenticator app supports (HMAC-SHA1, six
// digits, 30-second steps).
//
// A secret becomes a factor only after the user proves their app holds it by entering
// a code; until then it lives in memory for ten minutes and is never stored. Stored
// secrets are sealed and bound to their record. Each accepted code burns its time step,
// and every earlier one, with a compare-and-swap on the credential, so a code (or an
// older code seen over someone's shoulder) cannot be used twice, even by two requests
// racing each other.
//
// This package checks codes; it does not regulate attempts or audit them. Callers go
// through mfa.Service, which does both.
package totp
