// Package keys owns the token-signing keys: it generates them on first start, keeps
// their private parts sealed in the store, rotates them on a schedule with overlap, and
// publishes the JSON Web Key Set.
//
// Lifecycle of a key (store.KeyNext -> store.KeyActive -> store.KeyRetired -> deleted):
//
//   - next: published in the JWKS, not signing yet. Relying parties cache JWKS
//     documents, so a key must be published for Options.PublishAhead before it signs,
//     or a fresh token would carry a kid they do not know.
//   - active: signs every token. Exactly one key is active at a time.
//   - retired: no longer signs, still published until NotAfter, so that every token it
//     signed can still be verified until that token expires (Options.MaxTokenLifetime).
//
// The Manager unseals and parses every key once and serves Current, PublicKeys and the
// pre-rendered JWKS bytes from an immutable snapshot behind an atomic pointer: the
// token path takes no lock and decodes nothing (decoding an RSA JWK per signature
// halves the token rate; see DESIGN.md, performance budget).
//
// Several instances may share one store. Every change is a compare-and-swap on the
// record's Version, and the schedule is re-derived from the store on each Tick, so
// instances converge on the same keys and a crash between two writes is repaired by
// the next Tick.
//
// This package must never let a private key leave memory unsealed: not into the
// store, the JWKS, logs or errors.
package keys
