// Package directory is the local user directory: password hashing (argon2id, PHC
// strings), the password-choice policy (NIST SP 800-63B-4), password sign-in with
// brute-force regulation and a constant minimum duration, group names for the groups
// claim, and deactivation that cuts off a user's sessions and refresh tokens.
//
// It depends on a narrow Store interface declared here, not on a backend, and records
// every decision through audit.Recorder.
//
// It must not leak whether a user exists: unknown users, inactive users, users without
// a password, wrong passwords and unusable stored hashes all return
// ErrInvalidCredentials after the same argon2id work, and every sign-in takes at least
// Options.MinDuration. Throttling returns ErrThrottled, distinguishable in logs and
// metrics; the UI shows one generic message for both. Plaintext passwords are never
// stored, logged or put into errors.
package directory
