// Package apitoken mints and bootstraps bearer tokens for the admin API.
//
// A token is 256 bits from the injected random source, shown to its owner exactly once
// in the form "pct_<base64url>" (the prefix lets secret scanners recognise a leaked
// token). The store only ever sees the SHA-256 digest of that string, so a copy of the
// data file does not grant admin access. Lookup is by digest as an exact key, so there
// is no byte-by-byte comparison of the secret for an attacker to time.
//
// This package does not authenticate requests; web/api does that with Digest and the
// store. It does not decide what the roles mean either.
package apitoken
