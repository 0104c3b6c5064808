// Package storetest is the conformance suite every store.Store backend must pass.
//
// A backend's test calls Run with a function that opens a fresh, empty store for one
// subtest (and closes it in t.Cleanup), and RunReopen with one that opens a store on
// a given directory, so the suite can check that data survives a restart. The suite
// is black-box: it sees only the store interfaces and the sentinel errors.
//
// Beyond store/interfaces.go, the suite pins down these behaviours, which every
// backend shares:
//   - Delete*, RevokeSession and RevokeAPIToken of an unknown id return ErrNotFound;
//     AddMember/RemoveMember on an unknown group return ErrNotFound, and RemoveMember
//     of a non-member is a no-op.
//   - Deleting a user leaves their sessions and refresh tokens revoked or gone.
//   - The backend clock follows time.Now closely enough that a record expiring an hour
//     ago is expired and one expiring in an hour is not, and UpdatedAt moves forward
//     on every update.
//   - A password credential stored with an empty ID gets the ID "password".
//   - UpdateSession of an unknown or revoked session, or one passed with another
//     UserID, returns ErrNotFound and changes nothing; a session never changes owner.
//   - ListUserSessions orders by sign-in time, latest first, and judges expiry at the
//     time it is given, not by the backend clock.
//   - Close may be called more than once.
package storetest
