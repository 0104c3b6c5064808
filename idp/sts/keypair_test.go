package sts

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"
)

// Access key ids sort in issue order (the store appends instead of writing into random
// pages), keep the AWS-like shape, and differ within one millisecond.
func TestAccessKeyIDsSortByIssueTime(t *testing.T) {
	t.Parallel()
	s := &Service{rand: rand.Reader}
	base := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var prev string
	for i, at := range []time.Time{base, base.Add(time.Millisecond), base.Add(time.Second), base.Add(90 * 24 * time.Hour), base.AddDate(40, 0, 0)} {
		id, secret, err := s.newKeyPair(at)
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 20 || !strings.HasPrefix(id, AccessKeyPrefix) || len(secret) != 40 {
			t.Fatalf("key pair %q %q: wrong shape", id, secret)
		}
		if i > 0 && id <= prev {
			t.Errorf("id %s issued at %s sorts before %s", id, at, prev)
		}
		prev = id
	}
	seen := map[string]bool{}
	for range 1000 {
		id, _, err := s.newKeyPair(base)
		if err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("id %s minted twice in one millisecond", id)
		}
		seen[id] = true
	}
}
