package bolt

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.etcd.io/bbolt"

	"github.com/portcullis-id/portcullis/store"
)

// Defaults applied by Open to zero Options fields.
const (
	DefaultTimeout       = 5 * time.Second
	DefaultMaxBatchSize  = 64
	DefaultMaxBatchDelay = 2 * time.Millisecond
)

// Options tune Open. The zero value is usable.
type Options struct {
	// Timeout bounds the wait for the file lock held by another process (or another
	// Open in this one). Zero means DefaultTimeout: bbolt itself would wait forever.
	Timeout time.Duration
	// Now is the clock for CreatedAt/UpdatedAt and for expiry checks; default time.Now.
	Now func() time.Time
	// NoSync skips fsync on commit. For tests only: a crash loses committed data.
	NoSync bool
	// MaxBatchSize is how many concurrent hot writes share one commit (default 64,
	// near the expected concurrency: bbolt's default of 1000 leaves batches waiting
	// for MaxBatchDelay instead).
	MaxBatchSize int
	// MaxBatchDelay is how long a batch waits for more writers (default 2ms).
	MaxBatchDelay time.Duration
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBatchSize <= 0 {
		o.MaxBatchSize = DefaultMaxBatchSize
	}
	if o.MaxBatchDelay <= 0 {
		o.MaxBatchDelay = DefaultMaxBatchDelay
	}
	return o
}

// Store is the bbolt-backed store.Store. It is safe for concurrent use.
type Store struct {
	db     *bbolt.DB
	now    func() time.Time
	path   string
	caches *caches

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it 0600, and its directory 0700, if needed) the data file at
// path. A file written by a newer schema is refused with store.ErrSchemaVersion.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	opts = opts.withDefaults()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open store: create directory: %w", err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:      opts.Timeout,
		NoSync:       opts.NoSync,
		FreelistType: bbolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("open store %s (is another process using it?): %w", path, err)
	}
	db.MaxBatchSize = opts.MaxBatchSize
	db.MaxBatchDelay = opts.MaxBatchDelay
	if err := db.Update(initSchema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return &Store{db: db, now: opts.Now, path: path, caches: newCaches()}, nil
}

// initSchema creates the buckets and records the schema version on first open, and
// refuses files written by a newer layout.
func initSchema(btx *bbolt.Tx) error {
	for _, name := range allBuckets() {
		if _, err := btx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := btx.Bucket([]byte(bMeta))
	raw := meta.Get([]byte(metaSchemaVersion))
	if raw == nil {
		return meta.Put([]byte(metaSchemaVersion), []byte(strconv.Itoa(store.SchemaVersion)))
	}
	v, err := strconv.Atoi(string(raw))
	if err != nil {
		return fmt.Errorf("read schema version %q: %w", raw, err)
	}
	switch {
	case v > store.SchemaVersion:
		return fmt.Errorf("file has schema version %d, this binary knows up to %d: %w",
			v, store.SchemaVersion, store.ErrSchemaVersion)
	case v < store.SchemaVersion:
		return fmt.Errorf("file has schema version %d and no migration to %d exists: %w",
			v, store.SchemaVersion, store.ErrSchemaVersion)
	}
	return nil
}

// Close closes the data file. Calling it again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("close store %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

// Ping runs an empty read transaction.
func (s *Store) Ping(ctx context.Context) error {
	return s.view(ctx, "ping", func(*tx) error { return nil })
}

// Atomic runs fn in one bbolt transaction; fn's error rolls everything back.
// Concurrent Atomic calls share a commit (DB.Batch): the interface already lets fn be
// re-run, and hot multi-record writes such as a role session with its audit event
// would otherwise pay a full fsync each.
func (s *Store) Atomic(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.batch(ctx, "atomic", func(t *tx) error { return fn(t) })
}

// DeleteExpired removes every record whose lifetime ended at or before now, with its
// index entries, in one transaction.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	return updateValue(ctx, s, "delete expired", func(t *tx) (int, error) {
		return t.deleteExpired(now)
	})
}

func (s *Store) bind(ctx context.Context, btx *bbolt.Tx) *tx {
	return &tx{ctx: ctx, btx: btx, now: s.now, caches: s.caches}
}

// view, update and batch open one transaction and run fn on it. An error from fn
// comes back unchanged (it is already wrapped by the aggregate method); one from
// bbolt itself is wrapped with op.
func (s *Store) view(ctx context.Context, op string, fn func(*tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var fnErr error
	err := s.db.View(func(btx *bbolt.Tx) error {
		fnErr = fn(s.bind(ctx, btx))
		return fnErr
	})
	return passOrWrap(op, err, fnErr)
}

func (s *Store) update(ctx context.Context, op string, fn func(*tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var fnErr error
	err := s.db.Update(func(btx *bbolt.Tx) error {
		fnErr = fn(s.bind(ctx, btx))
		return fnErr
	})
	return passOrWrap(op, err, fnErr)
}

// batch runs fn through DB.Batch. bbolt may run fn several times (when another
// function of the same batch fails, every one is re-run), so fn must derive
// everything from the transaction and its arguments.
func (s *Store) batch(ctx context.Context, op string, fn func(*tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var fnErr error
	err := s.db.Batch(func(btx *bbolt.Tx) error {
		fnErr = fn(s.bind(ctx, btx))
		return fnErr
	})
	return passOrWrap(op, err, fnErr)
}

func passOrWrap(op string, err, fnErr error) error {
	switch {
	case err == nil:
		return nil
	case fnErr != nil && errors.Is(err, fnErr):
		return err
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

func viewValue[T any](ctx context.Context, s *Store, op string, fn func(*tx) (T, error)) (T, error) {
	var out T
	err := s.view(ctx, op, func(t *tx) error {
		var err error
		out, err = fn(t)
		return err
	})
	return out, err
}

func updateValue[T any](ctx context.Context, s *Store, op string, fn func(*tx) (T, error)) (T, error) {
	var out T
	err := s.update(ctx, op, func(t *tx) error {
		var err error
		out, err = fn(t)
		return err
	})
	return out, err
}

// batchValue runs fn through batch. An error matching one of commitOn is an outcome,
// not a failure: the transaction commits what fn wrote (a refresh family revocation on
// reuse, say) and the error still reaches the caller. Aggregate methods return such
// errors only once their writes are the ones that must stick.
func batchValue[T any](ctx context.Context, s *Store, op string, fn func(*tx) (T, error), commitOn ...error) (T, error) {
	var (
		out     T
		outcome error
	)
	err := s.batch(ctx, op, func(t *tx) error {
		// Reset: this closure may run more than once.
		var zero T
		out, outcome = zero, nil
		v, err := fn(t)
		out = v
		if err != nil && isAny(err, commitOn) {
			outcome = err
			return nil
		}
		return err
	})
	if err != nil {
		return out, err
	}
	return out, outcome
}

func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// newID returns a random (version 4) UUID read from crypto/rand.
func newID() (string, error) {
	id, err := uuid.NewRandomFromReader(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generate id: %w", err)
	}
	return id.String(), nil
}
