// Package regulate throttles repeated failed credential checks: passwords today, and
// TOTP codes, WebAuthn assertions, recovery codes, client secrets and SCIM tokens as
// they arrive. Every credential check in Portcullis goes through one Regulator, keyed
// by what is being guessed (a user name, a client id) and by who is guessing (a source
// address), so an attacker cannot dodge the limit by switching factor.
//
// NIST SP 800-63B §5.2.2 requires verifiers to limit consecutive failed attempts on an
// account; OWASP's Authentication Cheat Sheet adds per-source limits against password
// spraying, where each account sees only a few guesses.
//
// The state is in memory and per process: after a restart counting starts afresh, and
// several replicas each count on their own (an attacker spreading guesses across N
// replicas gets at most N times the limit). Memory is bounded: the Regulator holds at
// most a configured number of keys and forgets expired ones first, then the least
// recently failed unlocked ones.
//
// This package decides; it does not sleep, log, audit or talk to clients. Callers
// record the outcome and show a generic message.
package regulate
