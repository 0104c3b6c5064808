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

func (t *tx) sweepAuthRequests(now time.Time) (int, error) {
	b := t.b(bAuthRequests)
	keys, _, err := collect(b, func(r store.AuthRequest) bool { return expired(r.ExpiresAt, now) })
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := deleteKeys(b, []byte(k)); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

func (t *tx) sweepAuthCodes(now time.Time) (int, error) {
	b, byReq := t.b(bAuthCodes), t.b(bCodesByRequest)
	keys, codes, err := collect(b, func(c store.AuthCode) bool { return expired(c.ExpiresAt, now) })
	if err != nil {
		return 0, err
	}
	for i, k := range keys {
		if err := deleteKeys(b, []byte(k)); err != nil {
			return 0, err
		}
		// Drop the index entry only if it still points at this code.
		if string(byReq.Get([]byte(codes[i].AuthRequestID))) == k {
			if err := deleteKeys(byReq, []byte(codes[i].AuthRequestID)); err != nil {
				return 0, err
			}
		}
	}
	return len(keys), nil
}

// sweepRefreshTokens drops tokens past their own or their family's end.
func (t *tx) sweepRefreshTokens(now time.Time) (int, error) {
	b := t.b(bRefreshTokens)
	keys, toks, err := collect(b, func(rt store.RefreshToken) bool {
		return expired(rt.ExpiresAt, now) || expired(rt.FamilyExpiresAt, now)
	})
	if err != nil {
		return 0, err
	}
	for i, k := range keys {
		rt := toks[i]
		if err := deleteKeys(b, []byte(k)); err != nil {
			return 0, err
		}
		if err := deleteKeys(t.b(bRefreshByFamily), compositeKey(rt.FamilyID, k)); err != nil {
			return 0, err
		}
		if err := deleteKeys(t.b(bRefreshByUser), compositeKey(rt.UserID, k)); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

func (t *tx) sweepSessions(now time.Time) (int, error) {
	b := t.b(bSessions)
	keys, sessions, err := collect(b, func(s store.Session) bool { return expired(s.ExpiresAt, now) })
	if err != nil {
		return 0, err
	}
	for i, k := range keys {
		if err := deleteKeys(b, []byte(k)); err != nil {
			return 0, err
		}
		if err := deleteKeys(t.b(bSessionsByUser), compositeKey(sessions[i].UserID, k)); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

func (t *tx) sweepRevocations(now time.Time) (int, error) {
	b := t.b(bRevocations)
	keys, _, err := collect(b, func(r store.Revocation) bool { return expired(r.Until, now) })
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := deleteKeys(b, []byte(k)); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// sweepAPITokens drops tokens with an expiry that has passed; a zero ExpiresAt never
// expires.
func (t *tx) sweepAPITokens(now time.Time) (int, error) {
	b, byDigest := t.b(bAPITokens), t.b(bAPITokenByDigest)
	keys, toks, err := collect(b, func(a store.APIToken) bool { return expired(a.ExpiresAt, now) })
	if err != nil {
		return 0, err
	}
	for i, k := range keys {
		if err := deleteKeys(b, []byte(k)); err != nil {
			return 0, err
		}
		if string(byDigest.Get(toks[i].Digest)) == k {
			if err := deleteKeys(byDigest, toks[i].Digest); err != nil {
				return 0, err
			}
		}
	}
	return len(keys), nil
}

// sweepRoleSessions drops role credentials past their expiry, revoked or not: an
// expired credential is refused on its own, so its revocation needs no record.
func (t *tx) sweepRoleSessions(now time.Time) (int, error) {
	b := t.b(bRoleSessions)
	keys, sessions, err := collect(b, func(s store.RoleSession) bool { return expired(s.ExpiresAt, now) })
	if err != nil {
		return 0, err
	}
	for i, k := range keys {
		if err := deleteKeys(b, []byte(k)); err != nil {
			return 0, err
		}
		if err := deleteKeys(t.b(bRoleSessionsBy), compositeKey(sessions[i].RoleID, k)); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}
