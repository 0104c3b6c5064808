package bolt

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/portcullis-id/portcullis/store"
)

// tx implements every aggregate of store.Tx on one open bbolt transaction. It is the
// only place the store's logic lives: Store methods open a transaction and delegate
// here, Atomic hands a tx to its caller.
type tx struct {
	ctx    context.Context
	btx    *bbolt.Tx
	now    func() time.Time
	caches *caches // decoded-record caches; nil in tests that build a tx by hand
}

var _ store.Tx = (*tx)(nil)

var errTxClosed = errors.New("transaction already finished")

// check refuses work on a finished transaction (a tx kept past Atomic) or a
// cancelled context.
func (t *tx) check(ctx context.Context) error {
	if t.btx.DB() == nil {
		return errTxClosed
	}
	if ctx == nil {
		ctx = t.ctx
	}
	return ctx.Err()
}

func (t *tx) writable() error {
	if !t.btx.Writable() {
		return berrors.ErrTxNotWritable
	}
	return nil
}

// begin is check plus writable, for mutating methods.
func (t *tx) begin(ctx context.Context) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	return t.writable()
}

func (t *tx) b(name string) *bbolt.Bucket {
	return t.btx.Bucket([]byte(name))
}

// clock is the store's time, in UTC and without a monotonic reading, so values
// returned by a write equal what a later read decodes.
func (t *tx) clock() time.Time {
	return t.now().UTC().Round(0)
}

// expired reports whether a lifetime ending at end is over at now. A zero end never
// expires.
func expired(end, now time.Time) bool {
	return !end.IsZero() && !now.Before(end)
}

// fillID gives an empty id a random value.
func fillID(id *string) error {
	if *id != "" {
		return nil
	}
	v, err := newID()
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// loadOrNotFound decodes key of bucket into v, or returns store.ErrNotFound.
func loadOrNotFound(b *bbolt.Bucket, key string, v any) error {
	ok, err := getJSON(b, []byte(key), v)
	if err != nil {
		return err
	}
	if !ok {
		return store.ErrNotFound
	}
	return nil
}

// checkVersion compares the version a caller read with the stored one.
func checkVersion(got, stored int64) error {
	if got != stored {
		return fmt.Errorf("version %d, stored %d: %w", got, stored, store.ErrConflict)
	}
	return nil
}

// cached returns the decoded-record caches, or empty ones that never hit when the tx
// has none.
func (t *tx) cached() *caches {
	if t.caches == nil {
		return &caches{}
	}
	return t.caches
}
