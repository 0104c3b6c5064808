package bolt_test

import (
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/store/bolt"
)

// openBench opens a store with fsync on (unless noSync): the figures are meant to be
// what production sees.
func openBench(b *testing.B, noSync bool) *bolt.Store {
	b.Helper()
	s, err := bolt.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), bolt.Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkCreateUser is one Update (with fsync) per user: the cost of a directory
// write.
func BenchmarkCreateUser(b *testing.B) {
	s := openBench(b, false)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		if _, err := s.CreateUser(ctx, store.User{UserName: "user-" + strconv.Itoa(i), Active: true}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRevokeBatched has about 64 concurrent writers revoking distinct jtis, so
// the commits are grouped by DB.Batch (fsync on).
func BenchmarkRevokeBatched(b *testing.B) {
	s := openBench(b, false)
	ctx := b.Context()
	until := time.Now().Add(time.Hour)
	var n atomic.Uint64
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := "jti-" + strconv.FormatUint(n.Add(1), 10)
			if err := s.Revoke(ctx, store.Revocation{Key: key, Until: until}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGetUser is one View with a JSON decode.
func BenchmarkGetUser(b *testing.B) {
	s := openBench(b, true)
	ctx := b.Context()
	u, err := s.CreateUser(ctx, store.User{
		UserName: "alice", DisplayName: "Alice", Emails: []string{"alice@example.com"},
		Roles: []string{"admin"}, Attributes: map[string]string{"dept": "eng"},
	})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.GetUser(ctx, u.ID); err != nil {
			b.Fatal(err)
		}
	}
}
