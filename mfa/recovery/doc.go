// Package recovery issues and checks recovery codes: single-use codes a user prints or
// stores when enrolling a second factor, to sign in when that factor is lost.
//
// A set of codes is shown once, when generated; only digests are stored. Generating a
// new set replaces the old one in the same store transaction, so there is never a
// moment when both sets, or neither, are valid. Using a code deletes it.
//
// This package does not regulate attempts, audit, or decide when codes are offered:
// mfa.Service does the first two for every factor alike, the sign-in flow the third.
package recovery
