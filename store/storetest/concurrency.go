package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

const writers = 32

func concurrencyTests() []test {
	return []test{
		{"CreateUsers", testConcurrentCreateUsers},
		{"SameUserNameOneWins", testConcurrentSameName},
		{"AppendAuditDistinctSeqs", testConcurrentAudit},
		{"AddMemberNoLostUpdates", testConcurrentAddMember},
		{"StaleVersionRaceOneWins", testStaleVersionRace},
		{"ConsumeAuthCodeOnce", testConcurrentConsume},
		{"RotateRefreshTokenOnce", testConcurrentRotate},
		{"BatchedErrorsReachTheirCaller", testConcurrentMixedOutcomes},
	}
}

// parallel runs fn(i) for i in [0, n) on n goroutines started together and returns
// their errors, indexed by i.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func testConcurrentCreateUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	errs := parallel(writers, func(i int) error {
		_, err := s.CreateUser(ctx, store.User{UserName: fmt.Sprintf("user-%02d", i)})
		return err
	})
	for i, err := range errs {
		noErr(t, fmt.Sprintf("create user-%02d", i), err)
	}
	users := ok[[]store.User](t, "list")(s.ListUsers(ctx))
	if len(users) != writers {
		t.Fatalf("list = %d users, want %d", len(users), writers)
	}
	for i := range writers {
		ok[store.User](t, "get by name")(s.GetUserByName(ctx, fmt.Sprintf("USER-%02d", i)))
	}
}

func testConcurrentSameName(t *testing.T, s store.Store) {
	ctx := t.Context()
	errs := parallel(writers, func(i int) error {
		_, err := s.CreateUser(ctx, store.User{UserName: fmt.Sprintf("Same-%c", "aA"[i%2])})
		return err
	})
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrAlreadyExists):
			t.Errorf("create: %v, want nil or ErrAlreadyExists", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d creates of one userName succeeded, want 1", wins)
	}
}

func testConcurrentAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	const each = 8
	seqs := make([][]uint64, writers)
	errs := parallel(writers, func(i int) error {
		for j := range each {
			e, err := s.AppendAudit(ctx, store.AuditEvent{Actor: fmt.Sprint(i), Action: fmt.Sprint(j), Outcome: "success"})
			if err != nil {
				return err
			}
			seqs[i] = append(seqs[i], e.Seq)
		}
		return nil
	})
	seen := map[uint64]bool{}
	for i, err := range errs {
		noErr(t, "append", err)
		for j, seq := range seqs[i] {
			if seen[seq] {
				t.Fatalf("seq %d handed out twice", seq)
			}
			seen[seq] = true
			if j > 0 && seq <= seqs[i][j-1] {
				t.Errorf("writer %d: seq %d after %d", i, seq, seqs[i][j-1])
			}
		}
	}
	all := ok[[]store.AuditEvent](t, "list")(s.ListAudit(ctx, 0, 10*writers*each))
	if len(all) != writers*each {
		t.Fatalf("list = %d events, want %d", len(all), writers*each)
	}
	for i, e := range all {
		if !seen[e.Seq] {
			t.Errorf("listed seq %d was never returned by AppendAudit", e.Seq)
		}
		if i > 0 && e.Seq <= all[i-1].Seq {
			t.Errorf("list out of order: %d after %d", e.Seq, all[i-1].Seq)
		}
	}
}

func testConcurrentAddMember(t *testing.T, s store.Store) {
	ctx := t.Context()
	g := mkGroup(t, s, "crowd")
	ids := make([]string, writers)
	for i := range ids {
		ids[i] = mkUser(t, s, fmt.Sprintf("m%02d", i)).ID
	}
	errs := parallel(writers, func(i int) error { return s.AddMember(ctx, g.ID, ids[i]) })
	for _, err := range errs {
		noErr(t, "add member", err)
	}
	got := ok[store.Group](t, "get")(s.GetGroup(ctx, g.ID))
	if want := sortedCopy(ids); !equalStrings(got.Members, want) {
		t.Errorf("members = %d, want all %d, sorted: %v", len(got.Members), writers, got.Members)
	}
	if got.Version != 1+writers {
		t.Errorf("Version = %d, want %d", got.Version, 1+writers)
	}
	for _, id := range ids {
		if gs := ok[[]store.Group](t, "groups of user")(s.GroupsOfUser(ctx, id)); len(gs) != 1 {
			t.Errorf("user %s in %d groups, want 1", id, len(gs))
		}
	}
}

func testStaleVersionRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "contended")
	errs := parallel(2, func(i int) error {
		mine := u
		mine.DisplayName = fmt.Sprint("writer ", i)
		_, err := s.UpdateUser(ctx, mine)
		return err
	})
	wins, conflicts := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, store.ErrConflict):
			conflicts++
		default:
			t.Errorf("update: %v", err)
		}
	}
	if wins != 1 || conflicts != 1 {
		t.Errorf("wins %d conflicts %d, want 1 and 1", wins, conflicts)
	}
	if got := ok[store.User](t, "get")(s.GetUser(ctx, u.ID)); got.Version != 2 {
		t.Errorf("Version = %d, want 2", got.Version)
	}
}

func testConcurrentConsume(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	c := authCode(t, "ar-race", n.Add(time.Minute))
	noErr(t, "save", s.SaveAuthCode(ctx, c))
	got := make([]store.AuthCode, writers)
	errs := parallel(writers, func(i int) error {
		var err error
		got[i], err = s.ConsumeAuthCode(ctx, c.Digest, n)
		return err
	})
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, store.ErrAlreadyUsed):
			if got[i].AuthRequestID != "ar-race" {
				t.Errorf("ErrAlreadyUsed came without the record: %+v", got[i])
			}
		default:
			t.Errorf("consume: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d consumers won, want 1", wins)
	}
}

func testConcurrentRotate(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := now()
	old := refreshToken(t, "u1", "fam-race", n.Add(time.Hour))
	noErr(t, "create", s.CreateRefreshToken(ctx, old))
	nexts := make([]store.RefreshToken, 8)
	for i := range nexts {
		nexts[i] = refreshToken(t, "u1", "fam-race", n.Add(time.Hour))
	}
	errs := parallel(len(nexts), func(i int) error { return s.RotateRefreshToken(ctx, old.ID, nexts[i], n) })
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrAlreadyUsed):
			t.Errorf("rotate: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d rotations won, want 1", wins)
	}
	// The losers' reuse revoked the family, the winner's new token included.
	for i, next := range nexts {
		got, err := s.GetRefreshToken(ctx, next.ID)
		if errs[i] == nil {
			if err != nil || !got.Revoked {
				t.Errorf("winner's token after reuse: %+v, %v; want stored and revoked", got, err)
			}
			continue
		}
		wantErr(t, "loser's token", err, store.ErrNotFound)
	}
}

// testConcurrentMixedOutcomes runs writes that succeed next to writes that fail with
// typed errors at the same moment, so backends that group commits must hand each
// caller its own outcome and must not lose the successful writes.
func testConcurrentMixedOutcomes(t *testing.T, s store.Store) {
	ctx := t.Context()
	exp := now().Add(time.Hour)
	taken := session(t, "u1", exp)
	noErr(t, "create", s.CreateSession(ctx, taken))
	sessions := make([]store.Session, writers)
	for i := range sessions {
		sessions[i] = session(t, "u1", exp)
		if i%2 == 1 {
			sessions[i].ID = taken.ID
		}
	}
	errs := parallel(writers, func(i int) error { return s.CreateSession(ctx, sessions[i]) })
	for i, err := range errs {
		if i%2 == 1 {
			wantErr(t, "create duplicate session", err, store.ErrAlreadyExists)
			continue
		}
		noErr(t, "create session", err)
		ok[store.Session](t, "get created session")(s.GetSession(ctx, sessions[i].ID))
	}
}
