package regulate

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a manually advanced clock, safe for concurrent reads.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	userLimits = Limits{MaxFailures: 3, Window: 10 * time.Minute, Lockout: 5 * time.Minute}
	ipLimits   = Limits{MaxFailures: 5, Window: 10 * time.Minute, Lockout: 15 * time.Minute}
)

func userKey(id string) Key { return Key{Scope: ScopeUser, ID: id, Limits: userLimits} }
func ipKey(id string) Key   { return Key{Scope: ScopeIP, ID: id, Limits: ipLimits} }

// step is one action in a scenario: advance the clock, then act on the keys.
type step struct {
	advance time.Duration
	op      string // "fail", "succeed", "reset", "check"
	keys    []Key
	// For "check": the scope expected to be locked ("" = not throttled) and, when
	// non-zero, the expected RetryAfter.
	wantScope string
	wantRetry time.Duration
}

func TestRegulatorScenarios(t *testing.T) {
	t.Parallel()
	alice, bob, ip := userKey("alice"), userKey("bob"), ipKey("192.0.2.1")
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name: "locks after MaxFailures failures",
			steps: []step{
				{op: "fail", keys: []Key{alice}},
				{op: "fail", keys: []Key{alice}},
				{op: "check", keys: []Key{alice}},
				{op: "fail", keys: []Key{alice}},
				{op: "check", keys: []Key{alice}, wantScope: ScopeUser, wantRetry: 5 * time.Minute},
				{op: "check", keys: []Key{bob}},
			},
		},
		{
			name: "unlocks when the lockout ends and counts afresh",
			steps: []step{
				{op: "fail", keys: []Key{alice}},
				{op: "fail", keys: []Key{alice}},
				{op: "fail", keys: []Key{alice}},
				{advance: 4 * time.Minute, op: "check", keys: []Key{alice}, wantScope: ScopeUser, wantRetry: time.Minute},
				{advance: time.Minute, op: "check", keys: []Key{alice}},
				{op: "fail", keys: []Key{alice}},
				{op: "fail", keys: []Key{alice}},
				{op: "check", keys: []Key{alice}},
				{op: "fail", keys: []Key{alice}},
				{op: "check", keys: []Key{alice}, wantScope: ScopeUser},
			},
		},
		{
			name: "failures older than the window slide out",
			steps: []step{
				{op: "fail", keys: []Key{alice}},
				{advance: 6 * time.Minute, op: "fail", keys: []Key{alice}},
				// The first failure is now 10m old: outside the window.
				{advance: 4 * time.Minute, op: "fail", keys: []Key{alice}},
				{op: "check", keys: []Key{alice}},
				// Three within 10m: 6m, 10m and now.
				{advance: time.Minute, op: "fail", keys: []Key{alice}},
				{op: "check", keys: []Key{alice}, wantScope: ScopeUser},
			},
		},
		{
			name: "success resets the user but not the IP",
			steps: []step{
				{op: "fail", keys: []Key{alice, ip}},
				{op: "fail", keys: []Key{alice, ip}},
				{op: "succeed", keys: []Key{alice, ip}},
				{op: "fail", keys: []Key{alice, ip}},
				{op: "fail", keys: []Key{alice, ip}},
				{op: "check", keys: []Key{alice}},
				// The IP has counted all four failures; the fifth locks it.
				{op: "fail", keys: []Key{bob, ip}},
				{op: "check", keys: []Key{alice, ip}, wantScope: ScopeIP, wantRetry: 15 * time.Minute},
			},
		},
		{
			name: "success does not lift an active lock",
			steps: []step{
				{op: "fail", keys: []Key{alice}},
				{op: "fail", keys: []Key{alice}},
				{op: "fail", keys: []Key{alice}},
				{op: "succeed", keys: []Key{alice}},
				{op: "check", keys: []Key{alice}, wantScope: ScopeUser},
			},
		},
		{
			name: "reset lifts a lock",
			steps: []step{
				{op: "fail", keys: []Key{alice}},
				{op: "fail", keys: []Key{alice}},
				{op: "fail", keys: []Key{alice}},
				{op: "reset", keys: []Key{alice}},
				{op: "check", keys: []Key{alice}},
			},
		},
		{
			name: "check names the key locked longest",
			steps: []step{
				{op: "fail", keys: []Key{alice, ip}},
				{op: "fail", keys: []Key{alice, ip}},
				{op: "fail", keys: []Key{alice, ip}},
				{op: "fail", keys: []Key{ip}},
				{op: "fail", keys: []Key{ip}},
				{op: "check", keys: []Key{alice, ip}, wantScope: ScopeIP, wantRetry: 15 * time.Minute},
			},
		},
		{
			name: "same id in another scope is a different key",
			steps: []step{
				{op: "fail", keys: []Key{userKey("x")}},
				{op: "fail", keys: []Key{userKey("x")}},
				{op: "fail", keys: []Key{userKey("x")}},
				{op: "check", keys: []Key{{Scope: ScopeClient, ID: "x", Limits: userLimits}}},
			},
		},
		{
			name: "zero limits never lock",
			steps: []step{
				{op: "fail", keys: []Key{{Scope: ScopeUser, ID: "free"}}},
				{op: "fail", keys: []Key{{Scope: ScopeUser, ID: "free"}}},
				{op: "fail", keys: []Key{{Scope: ScopeUser, ID: "free"}}},
				{op: "check", keys: []Key{{Scope: ScopeUser, ID: "free"}}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newFakeClock()
			r := New(clk.Now)
			for i, s := range tc.steps {
				clk.Advance(s.advance)
				switch s.op {
				case "fail":
					r.Fail(s.keys...)
				case "succeed":
					r.Succeed(s.keys...)
				case "reset":
					r.Reset(s.keys...)
				case "check":
					checkStep(t, i, r.Check(s.keys...), s)
				default:
					t.Fatalf("step %d: unknown op %q", i, s.op)
				}
			}
		})
	}
}

func checkStep(t *testing.T, i int, err error, s step) {
	t.Helper()
	if s.wantScope == "" {
		if err != nil {
			t.Fatalf("step %d: Check() = %v, want nil", i, err)
		}
		return
	}
	if !errors.Is(err, ErrThrottled) {
		t.Fatalf("step %d: Check() = %v, want ErrThrottled", i, err)
	}
	var te *ThrottledError
	if !errors.As(err, &te) {
		t.Fatalf("step %d: Check() = %T, want *ThrottledError", i, err)
	}
	if te.Scope != s.wantScope {
		t.Errorf("step %d: Scope = %q, want %q", i, te.Scope, s.wantScope)
	}
	if s.wantRetry != 0 && te.RetryAfter != s.wantRetry {
		t.Errorf("step %d: RetryAfter = %s, want %s", i, te.RetryAfter, s.wantRetry)
	}
}

func TestThrottledErrorOmitsID(t *testing.T) {
	t.Parallel()
	r := New(newFakeClock().Now)
	k := userKey("secret-user-name")
	r.Fail(k, k, k)
	err := r.Check(k)
	if err == nil || strings.Contains(err.Error(), "secret-user-name") {
		t.Fatalf("Check() = %v; want a throttled error without the id", err)
	}
}

func TestMemoryCapHoldsUnderManyKeys(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	const maxEntries = 100
	r := New(clk.Now, WithMaxEntries(maxEntries))
	locked := userKey("victim")
	r.Fail(locked, locked, locked)
	for i := range 10_000 {
		r.Fail(ipKey(fmt.Sprintf("198.51.100.%d/%d", i%256, i)))
		if n := r.Len(); n > maxEntries {
			t.Fatalf("after %d keys Len() = %d, want <= %d", i+1, n, maxEntries)
		}
	}
	// Unlocked entries are evicted before locked ones, so the lock survives a flood.
	if err := r.Check(locked); !errors.Is(err, ErrThrottled) {
		t.Fatalf("lock lost under key flood: Check() = %v", err)
	}
}

func TestExpiredEntriesAreEvictedFirst(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	r := New(clk.Now, WithMaxEntries(3))
	short := Key{Scope: ScopeUser, ID: "short", Limits: Limits{MaxFailures: 3, Window: time.Minute, Lockout: time.Minute}}
	r.Fail(userKey("long1"))
	r.Fail(userKey("long2"))
	clk.Advance(time.Second)
	r.Fail(short) // most recently failed, but with a short window
	clk.Advance(2 * time.Minute)
	r.Fail(userKey("new")) // table full: the expired entry must go, not the oldest
	if r.Len() != 3 {
		t.Fatalf("Len() = %d, want 3", r.Len())
	}
	// long1 is the least recently failed entry; it still counts one failure, so two
	// more lock it.
	r.Fail(userKey("long1"), userKey("long1"))
	if err := r.Check(userKey("long1")); !errors.Is(err, ErrThrottled) {
		t.Fatalf("live entry evicted instead of the expired one: Check() = %v", err)
	}
}

func TestLongIDsAreBounded(t *testing.T) {
	t.Parallel()
	r := New(newFakeClock().Now)
	long := strings.Repeat("a", 1<<20)
	k := userKey(long)
	r.Fail(k, k, k)
	if err := r.Check(k); !errors.Is(err, ErrThrottled) {
		t.Fatalf("Check(long id) = %v, want throttled", err)
	}
	if err := r.Check(userKey(long[:len(long)-1])); err != nil {
		t.Fatalf("a different long id is throttled: %v", err)
	}
	for _, e := range r.entries {
		if len(e.key.id) > maxIDLen+1 {
			t.Fatalf("stored id is %d bytes, want <= %d", len(e.key.id), maxIDLen+1)
		}
	}
}

func TestConcurrentUseIsRaceFree(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	r := New(clk.Now, WithMaxEntries(50))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				u := userKey(fmt.Sprintf("u%d", (g*31+i)%70))
				ip := ipKey(fmt.Sprintf("ip%d", i%9))
				_ = r.Check(u, ip)
				switch i % 3 {
				case 0, 1:
					r.Fail(u, ip)
				default:
					r.Succeed(u, ip)
				}
				if i%100 == 0 {
					clk.Advance(time.Minute)
				}
			}
		}()
	}
	wg.Wait()
	if n := r.Len(); n > 50 {
		t.Fatalf("Len() = %d, want <= 50", n)
	}
}

func BenchmarkFailCheck(b *testing.B) {
	r := New(time.Now)
	keys := make([]Key, 1024)
	for i := range keys {
		keys[i] = userKey(fmt.Sprintf("user%d", i))
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		k := keys[i%len(keys)]
		_ = r.Check(k)
		r.Fail(k)
	}
}
