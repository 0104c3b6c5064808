// Package api is the JSON admin API under /admin/v1: users, groups, OAuth clients,
// signing keys, admin API tokens, declarative apply, users' second factors and the
// credential report (JSON or CSV).
//
// Every route requires an admin API token (Authorization: Bearer pct_...), looked up
// by its SHA-256 digest; the token must carry the "admin" role. Every change, and every
// refused call, is recorded through audit.Recorder with the token as actor; so is every
// read of the credential report, which maps every account's weak spots.
//
// Versioned entities carry ETag: "<version>"; PATCH and DELETE honour If-Match.
// Request bodies are size-limited and decoded strictly (unknown fields are refused with
// their name). Responses never contain secret digests or password hashes; generated
// secrets (client secrets, API tokens) appear once, in the response that creates them.
//
// The package holds no domain logic of its own beyond input checks: passwords go
// through PasswordService, client rules through declare.ClientService, keys through
// KeyService, second factors through MFAService and declarative documents through
// declare.Reconciler.
package api
