package bolt

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/portcullis-id/portcullis/store"
)

// CheckConsistency runs bbolt's page-level check and then verifies that every
// secondary index agrees with the records it points at.
func CheckConsistency(s *Store) error {
	return s.db.View(func(btx *bbolt.Tx) error {
		var errs []error
		for err := range btx.Check() {
			errs = append(errs, err)
		}
		if err := checkIndexes(&tx{ctx: nil, btx: btx, now: s.now}); err != nil {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

func checkIndexes(t *tx) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	keysOf := func(name string) map[string]string {
		m := map[string]string{}
		_ = t.b(name).ForEach(func(k, v []byte) error { m[string(k)] = string(v); return nil })
		return m
	}

	users, _ := listJSON[store.User](t.b(bUsers))
	names := keysOf(bUsersByName)
	for _, u := range users {
		if names[string(nameKey(u.UserName))] != u.ID {
			fail("user %s: name %q not indexed", u.ID, u.UserName)
		}
	}
	if len(names) != len(users) {
		fail("users_by_name has %d entries for %d users", len(names), len(users))
	}

	groups, _ := listJSON[store.Group](t.b(bGroups))
	gnames := keysOf(bGroupsByName)
	wantMembers := map[string]string{}
	for _, g := range groups {
		if gnames[string(nameKey(g.DisplayName))] != g.ID {
			fail("group %s: name %q not indexed", g.ID, g.DisplayName)
		}
		if !slices.IsSorted(g.Members) || len(slices.Compact(slices.Clone(g.Members))) != len(g.Members) {
			fail("group %s: members not sorted and unique: %v", g.ID, g.Members)
		}
		for _, m := range g.Members {
			wantMembers[string(compositeKey(m, g.ID))] = ""
			if !t.userExists(m) {
				fail("group %s: member %s does not exist", g.ID, m)
			}
		}
	}
	if len(gnames) != len(groups) {
		fail("groups_by_name has %d entries for %d groups", len(gnames), len(groups))
	}
	if got := keysOf(bMemberships); !maps.Equal(got, wantMembers) {
		fail("memberships index %v, want %v", got, wantMembers)
	}

	creds, _ := listJSON[store.Credential](t.b(bCredentials))
	for _, c := range creds {
		if !t.userExists(c.UserID) {
			fail("credential %s/%s of missing user %s", c.Type, c.ID, c.UserID)
		}
	}

	codes, _ := listJSON[store.AuthCode](t.b(bAuthCodes))
	wantByReq := map[string]string{}
	for _, c := range codes {
		wantByReq[c.AuthRequestID] = c.Digest
	}
	if got := keysOf(bCodesByRequest); !maps.Equal(got, wantByReq) {
		fail("auth_codes_by_request %v, want %v", got, wantByReq)
	}

	rts, _ := listJSON[store.RefreshToken](t.b(bRefreshTokens))
	wantFam, wantUser := map[string]string{}, map[string]string{}
	for _, rt := range rts {
		wantFam[string(compositeKey(rt.FamilyID, rt.ID))] = ""
		wantUser[string(compositeKey(rt.UserID, rt.ID))] = ""
	}
	if got := keysOf(bRefreshByFamily); !maps.Equal(got, wantFam) {
		fail("refresh_by_family %v, want %v", got, wantFam)
	}
	if got := keysOf(bRefreshByUser); !maps.Equal(got, wantUser) {
		fail("refresh_by_user %v, want %v", got, wantUser)
	}

	sessions, _ := listJSON[store.Session](t.b(bSessions))
	wantSess := map[string]string{}
	for _, s := range sessions {
		wantSess[string(compositeKey(s.UserID, s.ID))] = ""
	}
	if got := keysOf(bSessionsByUser); !maps.Equal(got, wantSess) {
		fail("sessions_by_user %v, want %v", got, wantSess)
	}

	apis, _ := listJSON[store.APIToken](t.b(bAPITokens))
	wantDigest := map[string]string{}
	for _, a := range apis {
		wantDigest[string(a.Digest)] = a.ID
	}
	if got := keysOf(bAPITokenByDigest); !maps.Equal(got, wantDigest) {
		fail("api_tokens_by_digest has %d entries, want %d", len(got), len(wantDigest))
	}
	return errors.Join(errs...)
}
