// Package declare reconciles declarative IAM documents (users, groups, OAuth clients,
// managed policies, roles and role mappings) with the store, so that identity
// configuration can be reviewed like code.
//
// Parse reads YAML documents and refuses unknown keys, naming file, line and key path.
// Validate checks every document and collects all errors at once. Reconciler.Apply
// computes a plan (create / update / delete / unchanged per entity) and applies it in a
// single store transaction: either the whole plan is written or nothing is. Applying the
// same documents twice writes nothing the second time.
//
// Users, groups, clients, policies and roles created here carry Source "declarative"
// (role mappings carry ManagedBy "declarative": their Source names an identity source).
// Prune deletes only such entities; those made by an administrator, SCIM or a connector
// are never removed.
//
// The package does not hash passwords or validate OAuth client semantics itself: both
// come in through small interfaces (PasswordHasher, ClientService) wired by the caller.
// It never logs or returns plaintext passwords; generated client secrets are returned
// once in Result.ClientSecrets and stored only as digests.
package declare
