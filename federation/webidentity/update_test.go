package webidentity

import (
	"context"
	"errors"
	"testing"
)

// An issuer added at run time is trusted at once; one whose settings did not change
// keeps its cached keys and replay cache across updates; a bad update changes nothing.
func TestUpdateReplacesTheTrustedSet(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, rsaA())
	clock := newFakeClock()
	v := testVerifier(t, clock, Options{})
	ctx := context.Background()
	token := sign(t, rsaA(), githubClaims(GitHubActionsIssuer, clock.Now()), nil)

	if _, err := v.Verify(ctx, token); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify with no issuers = %v, want ErrInvalidToken", err)
	}

	gh := githubAgainst(f)
	gh.JTIReplay = true
	if err := v.Update([]Issuer{gh}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if _, err := v.Verify(ctx, token); err != nil {
		t.Fatalf("Verify after adding the issuer: %v", err)
	}

	other := GitHubEnterprise("acme", testAudience)
	other.JWKSURL = f.JWKSURL()
	if err := v.Update([]Issuer{gh, other}); err != nil {
		t.Fatalf("Update adding a second issuer: %v", err)
	}
	if _, err := v.Verify(ctx, token); !errors.Is(err, ErrReplay) {
		t.Fatalf("replayed token after an update = %v, want ErrReplay", err)
	}
	if got := f.jwksHits.Load(); got != 1 {
		t.Errorf("jwks fetched %d times, want 1 (an unchanged issuer keeps its keys)", got)
	}

	bad := gh
	bad.Algorithms = []string{"HS256"}
	if err := v.Update([]Issuer{bad}); err == nil {
		t.Fatal("Update accepted HS256")
	}
	if _, ok := v.lookup(other.URL); !ok {
		t.Error("a refused update changed the trusted set")
	}

	if err := v.Update(nil); err != nil {
		t.Fatalf("Update to none: %v", err)
	}
	fresh := sign(t, rsaA(), githubClaims(GitHubActionsIssuer, clock.Now()), nil)
	if _, err := v.Verify(ctx, fresh); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify after removing every issuer = %v, want ErrInvalidToken", err)
	}
}
