package bolt_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/store/bolt"
	"github.com/portcullis-id/portcullis/store/storetest"
)

// clock follows time.Now but never returns the same instant twice, so UpdatedAt
// moves on every update even on a coarse system clock.
type clock struct {
	mu   sync.Mutex
	last time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := time.Now()
	if !n.After(c.last) {
		n = c.last.Add(time.Microsecond)
	}
	c.last = n
	return n
}

// openAt opens the store at path for the test and, at the end, checks the file and
// its indexes before closing it.
func openAt(t *testing.T, path string) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(t.Context(), path, bolt.Options{NoSync: true, Timeout: time.Second, Now: (&clock{}).Now})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := bolt.CheckConsistency(s); err != nil && !errors.Is(err, berrors.ErrDatabaseNotOpen) {
			t.Errorf("consistency: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return openAt(t, filepath.Join(t.TempDir(), "portcullis.db"))
	})
}

func TestReopen(t *testing.T) {
	t.Parallel()
	storetest.RunReopen(t, func(t *testing.T, dir string) store.Store {
		s := openAt(t, filepath.Join(dir, "portcullis.db"))
		// The first store is closed by the suite before the second opens: check it
		// while it is still open.
		return checkedOnClose{Store: s, t: t}
	})
}

// checkedOnClose runs the consistency check just before the store closes.
type checkedOnClose struct {
	*bolt.Store
	t *testing.T
}

func (c checkedOnClose) Close() error {
	if err := bolt.CheckConsistency(c.Store); err != nil && !errors.Is(err, berrors.ErrDatabaseNotOpen) {
		c.t.Errorf("consistency before close: %v", err)
	}
	return c.Store.Close()
}

func TestOpenCreatesPrivateDirAndFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "a", "b", "data.db")
	openAt(t, path)
	for _, tc := range []struct {
		path string
		mode os.FileMode
	}{{filepath.Dir(path), 0o700}, {path, 0o600}} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != tc.mode {
			t.Errorf("%s mode %v, want %v", tc.path, got, tc.mode)
		}
	}
}

func TestOpenTwiceFailsFast(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data.db")
	openAt(t, path)
	start := time.Now()
	s, err := bolt.Open(t.Context(), path, bolt.Options{NoSync: true, Timeout: 50 * time.Millisecond})
	if err == nil {
		s.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
	if !errors.Is(err, berrors.ErrTimeout) {
		t.Errorf("second Open: %v, want a lock timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("second Open took %s", d)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data.db")
	s, err := bolt.Open(t.Context(), path, bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket([]byte("meta"))
		if got := string(meta.Get([]byte("schema_version"))); got != strconv.Itoa(store.SchemaVersion) {
			t.Errorf("schema_version = %q, want %d", got, store.SchemaVersion)
		}
		return meta.Put([]byte("schema_version"), []byte(strconv.Itoa(store.SchemaVersion+1)))
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	s, err = bolt.Open(t.Context(), path, bolt.Options{NoSync: true})
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a newer schema")
	}
	if !errors.Is(err, store.ErrSchemaVersion) {
		t.Errorf("Open: %v, want ErrSchemaVersion", err)
	}
	// The refused file is free again: the failed Open released the lock.
	db, err = bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("file still locked after refused Open: %v", err)
	}
	db.Close()
}

func TestCloseIsIdempotentAndLaterCallsFail(t *testing.T) {
	t.Parallel()
	s, err := bolt.Open(t.Context(), filepath.Join(t.TempDir(), "data.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	for range 2 {
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Error("ping after close succeeded")
	}
	if _, err := s.CreateUser(t.Context(), store.User{UserName: "late"}); err == nil {
		t.Error("write after close succeeded")
	}
	if err := s.Revoke(t.Context(), store.Revocation{Key: "k", Until: time.Now().Add(time.Hour)}); err == nil {
		t.Error("batched write after close succeeded")
	}
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	s := openAt(t, filepath.Join(t.TempDir(), "data.db"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.CreateUser(ctx, store.User{UserName: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("create with cancelled ctx: %v", err)
	}
	if err := s.CreateSession(ctx, store.Session{UserID: "u", ExpiresAt: time.Now().Add(time.Hour)}); !errors.Is(err, context.Canceled) {
		t.Errorf("batched create with cancelled ctx: %v", err)
	}
	if _, err := s.GetUserByName(t.Context(), "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("user written despite cancelled ctx: %v", err)
	}
}

func TestTxUnusableAfterAtomic(t *testing.T) {
	t.Parallel()
	s := openAt(t, filepath.Join(t.TempDir(), "data.db"))
	var kept store.Tx
	if err := s.Atomic(t.Context(), func(tx store.Tx) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := kept.CreateUser(t.Context(), store.User{UserName: "late"}); err == nil {
		t.Error("write through a finished transaction succeeded")
	}
	if _, err := kept.GetUser(t.Context(), "x"); err == nil {
		t.Error("read through a finished transaction succeeded")
	}
}

// TestBatchFailureReachesOnlyItsCaller mixes batched writes that bbolt must roll back
// and re-run alone (invalid records) with valid ones: each caller gets its own
// result and every valid write lands once.
func TestBatchFailureReachesOnlyItsCaller(t *testing.T) {
	t.Parallel()
	s := openAt(t, filepath.Join(t.TempDir(), "data.db"))
	ctx := t.Context()
	const n = 48
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sess := store.Session{ID: "s" + strconv.Itoa(i), UserID: "u1", ExpiresAt: time.Now().Add(time.Hour)}
			if i%3 == 0 {
				sess.ExpiresAt = time.Time{} // refused inside the batch
			}
			errs[i] = s.CreateSession(ctx, sess)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		_, getErr := s.GetSession(ctx, "s"+strconv.Itoa(i))
		if i%3 == 0 {
			if err == nil || errors.Is(err, store.ErrAlreadyExists) {
				t.Errorf("session %d without expiry: %v, want a validation error", i, err)
			}
			if !errors.Is(getErr, store.ErrNotFound) {
				t.Errorf("refused session %d was stored", i)
			}
			continue
		}
		if err != nil || getErr != nil {
			t.Errorf("session %d: create %v, get %v", i, err, getErr)
		}
	}
}

func TestDefaultOptionsOpen(t *testing.T) {
	t.Parallel()
	// Zero Options must not mean "wait forever" for the lock or a nil clock.
	s, err := bolt.Open(t.Context(), filepath.Join(t.TempDir(), "data.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.CreateUser(t.Context(), store.User{UserName: "x"})
	if err != nil || u.CreatedAt.IsZero() {
		t.Fatalf("create with default options: %+v, %v", u, err)
	}
}
