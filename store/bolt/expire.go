package bolt

import (
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/portcullis-id/portcullis/store"
)

// deleteExpired removes every record whose lifetime ended at or before now, and its
// index entries. It scans whole buckets: the swept sets are small next to the cost
// of keeping a time index in step on every hot write.
func (t *tx) deleteExpired(now time.Time) (int, error) {
	if err := t.writable(); err != nil {
		return 0, err
	}
	sweeps := []struct {
		name string
		fn   func(time.Time) (int, error)
	}{
		{"auth requests", t.sweepAuthRequests},
		{"auth codes", t.sweepAuthCodes},
		{"refresh tokens", t.sweepRefreshTokens},
		{"sessions", t.sweepSessions},
		{"revocations", t.sweepRevocations},
		{"api tokens", t.sweepAPITokens},
		{"role sessions", t.sweepRoleSessions},
	}
	total := 0
	for _, s := range sweeps {
		n, err := s.fn(now)
		if err != nil {
			return 0, fmt.Errorf("sweep %s: %w", s.name, err)
		}
		total += n
	}
	return total, nil
}

// collect decodes every value of b and returns, copied, the keys for which pick says
// true together with the decoded records. Deleting happens after the scan: a bucket
// must not change under ForEach.
func collect[T any](b *bbolt.Bucket, pick func(T) bool) ([]string, []T, error) {
	var (
		keys []string
		recs []T
	)
	err := b.ForEach(func(k, v []byte) error {
		var rec T
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode %q: %w", k, err)
		}
		if pick(rec) {
			keys = append(keys, string(k))
			recs = append(recs, rec)
		}
		return nil
	})
	return keys, recs, err
}

func deleteKeys(b *bbolt.Bucket, keys ...[]byte) error {
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("delete %q: %w", k, err)
		}
	}
	return nil
}

// sweep deletes every record of b that dead reports, then lets unindex drop the
// index entries that point at it (nil: none), and returns how many records went.
func sweep[T any](b *bbolt.Bucket, dead func(T) bool, unindex func(key string, rec T) error) (int, error) {
	keys, recs, err := collect(b, dead)
	if err != nil {
		return 0, err
	}
	for i, k := range keys {
		if err := deleteKeys(b, []byte(k)); err != nil {
			return 0, err
		}
		if unindex != nil {
			if err := unindex(k, recs[i]); err != nil {
				return 0, err
			}
		}
	}
	return len(keys), nil
}

// deleteIfPointsAt drops idx[key] only while it still names target, so a sweep never
// removes an index entry that a newer record took over.
func deleteIfPointsAt(idx *bbolt.Bucket, key []byte, target string) error {
	if string(idx.Get(key)) != target {
		return nil
	}
	return deleteKeys(idx, key)
}

func (t *tx) sweepAuthRequests(now time.Time) (int, error) {
	return sweep(t.b(bAuthRequests), func(r store.AuthRequest) bool { return expired(r.ExpiresAt, now) }, nil)
}

func (t *tx) sweepAuthCodes(now time.Time) (int, error) {
	byReq := t.b(bCodesByRequest)
	return sweep(t.b(bAuthCodes), func(c store.AuthCode) bool { return expired(c.ExpiresAt, now) },
		func(k string, c store.AuthCode) error { return deleteIfPointsAt(byReq, []byte(c.AuthRequestID), k) })
}

// sweepRefreshTokens drops tokens past their own or their family's end.
func (t *tx) sweepRefreshTokens(now time.Time) (int, error) {
	return sweep(t.b(bRefreshTokens),
		func(rt store.RefreshToken) bool {
			return expired(rt.ExpiresAt, now) || expired(rt.FamilyExpiresAt, now)
		},
		func(k string, rt store.RefreshToken) error {
			if err := deleteKeys(t.b(bRefreshByFamily), compositeKey(rt.FamilyID, k)); err != nil {
				return err
			}
			return deleteKeys(t.b(bRefreshByUser), compositeKey(rt.UserID, k))
		})
}

func (t *tx) sweepSessions(now time.Time) (int, error) {
	return sweep(t.b(bSessions), func(s store.Session) bool { return expired(s.ExpiresAt, now) },
		func(k string, s store.Session) error {
			return deleteKeys(t.b(bSessionsByUser), compositeKey(s.UserID, k))
		})
}

func (t *tx) sweepRevocations(now time.Time) (int, error) {
	return sweep(t.b(bRevocations), func(r store.Revocation) bool { return expired(r.Until, now) }, nil)
}

// sweepAPITokens drops tokens with an expiry that has passed; a zero ExpiresAt never
// expires.
func (t *tx) sweepAPITokens(now time.Time) (int, error) {
	byDigest := t.b(bAPITokenByDigest)
	return sweep(t.b(bAPITokens), func(a store.APIToken) bool { return expired(a.ExpiresAt, now) },
		func(k string, a store.APIToken) error { return deleteIfPointsAt(byDigest, a.Digest, k) })
}

// sweepRoleSessions drops role credentials past their expiry, revoked or not: an
// expired credential is refused on its own, so its revocation needs no record.
func (t *tx) sweepRoleSessions(now time.Time) (int, error) {
	return sweep(t.b(bRoleSessions), func(s store.RoleSession) bool { return expired(s.ExpiresAt, now) },
		func(k string, s store.RoleSession) error {
			return deleteKeys(t.b(bRoleSessionsBy), compositeKey(s.RoleID, k))
		})
}
