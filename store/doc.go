// Package store defines the persistence boundary of Portcullis: the entity types, one
// small interface per aggregate, and the sentinel errors every backend returns.
//
// It imports nothing else of Portcullis. Backends (store/bolt, later store/postgres)
// implement Store and must pass store/storetest.
package store
