// Package audit records who did what, to whom, with what outcome. This part is
// the Recorder boundary and a store-backed recorder; the hash chain, alerts and reviews
// build on it.
package audit
