// Package bolt is the embedded store.Store backend, built on go.etcd.io/bbolt.
//
// Each entity lives JSON-encoded in its own bucket, with secondary-index buckets
// written in the same transaction (user names, group names, memberships, codes by
// auth request, refresh tokens by family and by user, sessions by user, API tokens by
// digest). Every aggregate method is implemented once, on a type bound to an open
// *bbolt.Tx; the Store's methods open one transaction and delegate, and Atomic hands
// the same type to its caller.
//
// Hot, small writes (auth requests, codes, refresh tokens, sessions, revocations,
// audit events) go through bbolt's group commit (DB.Batch), so their transaction
// functions depend only on transaction state and may run more than once.
//
// The package must not expose bbolt itself: callers see only store.Store.
package bolt
