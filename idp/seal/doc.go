// Package seal encrypts secrets at rest: signing keys, TOTP seeds, STS secrets.
//
// A Sealer holds one 256-bit master key. Seal encrypts with AES-256-GCM and binds the
// ciphertext to the record it belongs to through the additional data (for example
// "signing_keys/" + kid), so a sealed value copied into another record does not open.
// Derive hands out independent sub-keys (HKDF-SHA256) for other purposes, such as the
// key that encrypts OIDC authorization codes, so one key file serves the whole binary.
//
// LoadKey reads the master key from an environment variable or a key file, creating
// the file on first start with owner-only permissions.
//
// This package must not log, print or persist key material; the Sealer redacts itself
// in slog and fmt output. It knows nothing about the store: callers choose the
// additional data and keep the sealed bytes.
package seal
