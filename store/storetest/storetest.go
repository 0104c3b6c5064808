package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

// Run runs the conformance suite. open must return a fresh, empty store for each call
// and close it when the test ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	groups := []struct {
		name  string
		tests []test
	}{
		{"Users", userTests()},
		{"Groups", groupTests()},
		{"Credentials", credentialTests()},
		{"Clients", clientTests()},
		{"SigningKeys", signingKeyTests()},
		{"AuthRequests", authRequestTests()},
		{"AuthCodes", authCodeTests()},
		{"RefreshTokens", refreshTests()},
		{"Sessions", sessionTests()},
		{"Revocations", revocationTests()},
		{"APITokens", apiTokenTests()},
		{"Audit", auditTests()},
		{"Roles", roleTests()},
		{"ManagedPolicies", managedPolicyTests()},
		{"RoleMappings", roleMappingTests()},
		{"RoleSessions", roleSessionTests()},
		{"Providers", providerTests()},
		{"Atomic", atomicTests()},
		{"Expiry", expiryTests()},
		{"Concurrency", concurrencyTests()},
		{"Copies", copyTests()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, open(t))
				})
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// now is the suite's notion of the present, at millisecond precision so that every
// backend stores it exactly.
func now() time.Time {
	return time.Now().UTC().Truncate(time.Millisecond)
}

// randID returns prefix followed by random hex, for keys the suite chooses itself.
func randID(t *testing.T, prefix string) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random id: %v", err)
	}
	return prefix + hex.EncodeToString(b[:])
}

func ok[T any](t *testing.T, what string) func(v T, err error) T {
	t.Helper()
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Creation helpers, for tests about something else.

func mkUser(t *testing.T, s store.Store, name string) store.User {
	t.Helper()
	return ok[store.User](t, "create user "+name)(s.CreateUser(t.Context(), store.User{UserName: name, Active: true}))
}

func mkGroup(t *testing.T, s store.Store, name string, members ...string) store.Group {
	t.Helper()
	return ok[store.Group](t, "create group "+name)(s.CreateGroup(t.Context(), store.Group{DisplayName: name, Members: members}))
}

func refreshToken(t *testing.T, userID, familyID string, expires time.Time) store.RefreshToken {
	t.Helper()
	return store.RefreshToken{
		ID:        randID(t, "rt-"),
		FamilyID:  familyID,
		ClientID:  "client-1",
		UserID:    userID,
		Scopes:    []string{"openid", "offline_access"},
		CreatedAt: now(),
		ExpiresAt: expires,
	}
}

func session(t *testing.T, userID string, expires time.Time) store.Session {
	t.Helper()
	n := now()
	return store.Session{
		ID:        randID(t, "sess-"),
		UserID:    userID,
		AuthTime:  n,
		AMR:       []string{"pwd"},
		CreatedAt: n,
		ExpiresAt: expires,
	}
}

func authRequest(expires time.Time) store.AuthRequest {
	return store.AuthRequest{
		ClientID:            "client-1",
		RedirectURI:         "https://rp.example/cb",
		State:               "st",
		Nonce:               "n0",
		Scopes:              []string{"openid", "profile"},
		ResponseType:        "code",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		ExpiresAt:           expires,
	}
}

func authCode(t *testing.T, authRequestID string, expires time.Time) store.AuthCode {
	t.Helper()
	return store.AuthCode{
		Digest:        randID(t, "code-"),
		AuthRequestID: authRequestID,
		ClientID:      "client-1",
		ExpiresAt:     expires,
		CreatedAt:     now(),
	}
}
