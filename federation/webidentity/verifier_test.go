package webidentity

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func TestVerifyGitHubActionsToken(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, rsaA(), rsaB())
	clock := newFakeClock()
	v := testVerifier(t, clock, Options{}, githubAgainst(f))

	claims := githubClaims(GitHubActionsIssuer, clock.Now())
	tok, err := v.Verify(context.Background(), sign(t, rsaA(), claims, nil))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if tok.Issuer.Name != "github-actions" || tok.Issuer.URL != GitHubActionsIssuer {
		t.Errorf("issuer = %q %q", tok.Issuer.Name, tok.Issuer.URL)
	}
	if tok.Subject != "repo:octo-org/payments:environment:production" {
		t.Errorf("subject = %q", tok.Subject)
	}
	if len(tok.Audience) != 1 || tok.Audience[0] != testAudience {
		t.Errorf("audience = %q", tok.Audience)
	}
	if want := clock.Now().Add(5 * time.Minute); !tok.Expiry.Equal(want) {
		t.Errorf("expiry = %v, want %v", tok.Expiry, want)
	}
	if want := clock.Now().Add(-5 * time.Second); !tok.IssuedAt.Equal(want) {
		t.Errorf("issued at = %v, want %v", tok.IssuedAt, want)
	}
	if tok.JTI != "c5d4a7a2-6a3b-4a4e-9b87-2f2d1c7c0d11" {
		t.Errorf("jti = %q", tok.JTI)
	}
	for name := range claims {
		if _, ok := tok.Claims[name]; !ok {
			t.Errorf("claim %q missing from Token.Claims", name)
		}
	}
	if got := f.jwksHits.Load(); got != 1 {
		t.Errorf("jwks fetched %d times, want 1", got)
	}
	if got := f.discoHits.Load(); got != 0 {
		t.Errorf("discovery fetched %d times with an explicit JWKS URL", got)
	}

	// Keys are cached: a second token costs no request.
	if _, err := v.Verify(context.Background(), sign(t, rsaB(), claims, nil)); err != nil {
		t.Fatalf("second Verify: %v", err)
	}
	if got := f.jwksHits.Load(); got != 1 {
		t.Errorf("jwks fetched %d times after a cached verify, want 1", got)
	}
}

func TestVerifyClaimChecks(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, rsaA())
	clock := newFakeClock()
	now := clock.Now()
	v := testVerifier(t, clock, Options{}, githubAgainst(f))

	tests := []struct {
		name   string
		mutate func(c map[string]any)
		want   error // nil: accepted
	}{
		{"github shape", func(map[string]any) {}, nil},
		{"aud array containing ours", func(c map[string]any) { c["aud"] = []string{"https://github.com/octo-org", testAudience} }, nil},
		{"wrong aud", func(c map[string]any) { c["aud"] = "https://github.com/octo-org" }, ErrAudience},
		{"aud array without ours", func(c map[string]any) { c["aud"] = []string{"a", "b"} }, ErrAudience},
		{"aud prefix of ours", func(c map[string]any) { c["aud"] = testAudience[:len(testAudience)-1] }, ErrAudience},
		{"aud missing", func(c map[string]any) { delete(c, "aud") }, ErrAudience},
		{"aud empty array", func(c map[string]any) { c["aud"] = []string{} }, ErrAudience},
		{"aud number", func(c map[string]any) { c["aud"] = 7 }, ErrInvalidToken},
		{"aud array with number", func(c map[string]any) { c["aud"] = []any{testAudience, 7} }, ErrInvalidToken},
		{"expired", func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() }, ErrExpired},
		{"expired within skew", func(c map[string]any) {
			c["iat"] = now.Add(-5 * time.Minute).Unix()
			c["exp"] = now.Add(-30 * time.Second).Unix()
		}, nil},
		{"expired exactly at skew", func(c map[string]any) { c["exp"] = now.Add(-60 * time.Second).Unix() }, ErrExpired},
		{"exp missing", func(c map[string]any) { delete(c, "exp") }, ErrInvalidToken},
		{"exp string", func(c map[string]any) { c["exp"] = "2099-01-01" }, ErrInvalidToken},
		{"exp beyond year 9999", func(c map[string]any) { c["exp"] = 1e13 }, ErrInvalidToken},
		{"exp fractional", func(c map[string]any) { c["exp"] = float64(now.Add(time.Minute).Unix()) + 0.5 }, nil},
		{"nbf in the future", func(c map[string]any) { c["nbf"] = now.Add(5 * time.Minute).Unix() }, ErrNotYetValid},
		{"nbf within skew", func(c map[string]any) { c["nbf"] = now.Add(30 * time.Second).Unix() }, nil},
		{"nbf long before iat", func(c map[string]any) { c["nbf"] = now.Add(-time.Hour).Unix() }, nil},
		{"nbf absent", func(c map[string]any) { delete(c, "nbf") }, nil},
		{"iat in the future", func(c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() }, ErrNotYetValid},
		{"iat missing", func(c map[string]any) { delete(c, "iat") }, ErrInvalidToken},
		{"exp before iat", func(c map[string]any) { c["iat"] = now.Unix(); c["exp"] = now.Add(-time.Second).Unix() }, ErrInvalidToken},
		{"lifetime over a day", func(c map[string]any) {
			c["iat"] = now.Add(-time.Minute).Unix()
			c["exp"] = now.Add(24 * time.Hour).Unix()
		}, ErrInvalidToken},
		{"sub missing", func(c map[string]any) { delete(c, "sub") }, ErrInvalidToken},
		{"sub empty", func(c map[string]any) { c["sub"] = "" }, ErrInvalidToken},
		{"jti number", func(c map[string]any) { c["jti"] = 12 }, ErrInvalidToken},
		{"iss of an untrusted issuer", func(c map[string]any) { c["iss"] = "https://token.actions.githubusercontent.com.evil.test" }, ErrInvalidToken},
		{"iss with trailing slash", func(c map[string]any) { c["iss"] = GitHubActionsIssuer + "/" }, ErrInvalidToken},
		{"iss only in another case", func(c map[string]any) { delete(c, "iss"); c["ISS"] = GitHubActionsIssuer }, ErrInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := githubClaims(GitHubActionsIssuer, now)
			tc.mutate(c)
			_, err := v.Verify(context.Background(), sign(t, rsaA(), c, nil))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNotYetValidIsAlsoInvalidToken(t *testing.T) {
	t.Parallel()
	if !errors.Is(ErrNotYetValid, ErrInvalidToken) {
		t.Fatal("callers mapping ErrInvalidToken must also catch ErrNotYetValid")
	}
}

func TestVerifyRefusesAlgorithmAttacks(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, rsaA(), ecA(), edA())
	clock := newFakeClock()
	gh := githubAgainst(f)                                                                                // RS256 only
	mixed := Issuer{Name: "mixed", URL: f.URL(), Audiences: []string{testAudience}, JWKSURL: f.JWKSURL()} // RS256 + ES256
	v := testVerifier(t, clock, Options{}, gh, mixed)
	claims := githubClaims(GitHubActionsIssuer, clock.Now())
	mixedClaims := githubClaims(f.URL(), clock.Now())

	pubDER, err := x509.MarshalPKIXPublicKey(rsaKeyA().Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	tests := []struct {
		name string
		raw  func(t *testing.T) string
	}{
		{"alg none", func(t *testing.T) string { return unsigned(t, map[string]any{"alg": "none", "kid": "rsa-a"}, claims) }},
		{"alg None", func(t *testing.T) string { return unsigned(t, map[string]any{"alg": "None"}, claims) }},
		{"alg missing", func(t *testing.T) string { return unsigned(t, map[string]any{"kid": "rsa-a"}, claims) }},
		{"HS256 keyed with the RSA public key PEM", func(t *testing.T) string {
			return sign(t, testKey{alg: jose.HS256}.withHMAC(pubPEM, "rsa-a"), claims, nil)
		}},
		{"HS256 keyed with the RSA public key DER", func(t *testing.T) string {
			return sign(t, testKey{alg: jose.HS256}.withHMAC(pubDER, "rsa-a"), claims, nil)
		}},
		{"ES256 on an RS256-only issuer, key published", func(t *testing.T) string { return sign(t, ecA(), claims, nil) }},
		{"EdDSA on an issuer allowing RS256 and ES256", func(t *testing.T) string { return sign(t, edA(), mixedClaims, nil) }},
		{"PS256 with an RS256 key on an RS256-only issuer", func(t *testing.T) string {
			return sign(t, testKey{kid: "rsa-a", alg: jose.PS256, priv: rsaKeyA()}, claims, nil)
		}},
		{"RS256 header naming the EC key", func(t *testing.T) string {
			return sign(t, testKey{kid: "ec-a", alg: jose.RS256, priv: rsaKeyA()}, mixedClaims, nil)
		}},
		{"signature of another token", func(t *testing.T) string {
			a := sign(t, rsaA(), claims, nil)
			other := githubClaims(GitHubActionsIssuer, clock.Now())
			other["sub"] = "repo:evil/repo:ref:refs/heads/main"
			b := sign(t, rsaA(), other, nil)
			return b[:strings.LastIndex(b, ".")] + a[strings.LastIndex(a, "."):]
		}},
		{"JSON serialization", func(t *testing.T) string {
			raw := sign(t, rsaA(), claims, nil)
			p := strings.Split(raw, ".")
			b, _ := json.Marshal(map[string]string{"protected": p[0], "payload": p[1], "signature": p[2]})
			return string(b)
		}},
		{"b64 false", func(t *testing.T) string {
			return sign(t, rsaA(), claims, map[jose.HeaderKey]any{"b64": false, "crit": []string{"b64"}})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := v.Verify(context.Background(), tc.raw(t))
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify error = %v, want ErrInvalidToken", err)
			}
		})
	}
}

// withHMAC turns k into an HMAC key made of secret, the way an attacker
// signs with a public key's bytes hoping the verifier uses them as a MAC
// key.
func (k testKey) withHMAC(secret []byte, kid string) testKey {
	k.kid = kid
	k.priv = nil
	k.hmac = secret
	return k
}

// unsigned builds a token with the given header and an empty signature.
func unsigned(t *testing.T, header, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

func TestVerifyIgnoresKeysNamedByTheToken(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, rsaA())
	evil := newFakeIssuer(t, attacker())
	clock := newFakeClock()
	v := testVerifier(t, clock, Options{}, githubAgainst(f))
	claims := githubClaims(GitHubActionsIssuer, clock.Now())

	evilJWK := attacker().jwk()
	tests := []struct {
		name  string
		raw   string
		valid bool
	}{
		{"jku to attacker JWKS, attacker key", sign(t, attacker(), claims, map[jose.HeaderKey]any{"jku": evil.JWKSURL()}), false},
		{"x5u to attacker, attacker key", sign(t, attacker(), claims, map[jose.HeaderKey]any{"x5u": evil.JWKSURL()}), false},
		{"embedded jwk of attacker key", sign(t, attacker(), claims, map[jose.HeaderKey]any{"jwk": evilJWK}), false},
		{"attacker key reusing the issuer's kid", sign(t, testKey{kid: "rsa-a", alg: jose.RS256, priv: rsaEvil()}, claims, map[jose.HeaderKey]any{"jku": evil.JWKSURL()}), false},
		{"issuer key with jku header", sign(t, rsaA(), claims, map[jose.HeaderKey]any{"jku": evil.JWKSURL()}), true},
	}
	for _, tc := range tests {
		_, err := v.Verify(context.Background(), tc.raw)
		switch {
		case tc.valid && err != nil:
			t.Errorf("%s: Verify: %v", tc.name, err)
		case !tc.valid && !errors.Is(err, ErrInvalidToken):
			t.Errorf("%s: Verify error = %v, want ErrInvalidToken", tc.name, err)
		}
	}
	if got := evil.jwksHits.Load() + evil.discoHits.Load(); got != 0 {
		t.Errorf("attacker server received %d requests", got)
	}
}

func TestUnknownKIDRefetchIsRateLimited(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, rsaA())
	clock := newFakeClock()
	v := testVerifier(t, clock, Options{RefreshMinInterval: 30 * time.Second}, githubAgainst(f))
	ctx := context.Background()
	claims := githubClaims(GitHubActionsIssuer, clock.Now())

	if _, err := v.Verify(ctx, sign(t, rsaA(), claims, nil)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	unknown := sign(t, rsaB(), claims, nil) // kid rsa-b is not published
	clock.Advance(31 * time.Second)
	if _, err := v.Verify(ctx, unknown); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("unknown kid: error = %v, want ErrInvalidToken", err)
	}
	if got := f.jwksHits.Load(); got != 2 {
		t.Fatalf("jwks fetched %d times, want 2 (one refetch for the unknown kid)", got)
	}
	for range 5 {
		if _, err := v.Verify(ctx, unknown); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("unknown kid again: error = %v, want ErrInvalidToken", err)
		}
	}
	if got := f.jwksHits.Load(); got != 2 {
		t.Fatalf("jwks fetched %d times within the interval, want still 2", got)
	}

	// The issuer rotates; once the interval has passed the new key is
	// fetched and the token verifies.
	f.publish(rsaB())
	clock.Advance(29 * time.Second)
	if _, err := v.Verify(ctx, unknown); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("before interval: error = %v, want ErrInvalidToken", err)
	}
	clock.Advance(2 * time.Second)
	claims = githubClaims(GitHubActionsIssuer, clock.Now())
	if _, err := v.Verify(ctx, sign(t, rsaB(), claims, nil)); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if got := f.jwksHits.Load(); got != 3 {
		t.Fatalf("jwks fetched %d times, want 3", got)
	}
	// The retired key is gone with the refresh.
	if _, err := v.Verify(ctx, sign(t, rsaA(), claims, nil)); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("retired key: error = %v, want ErrInvalidToken", err)
	}
}

func TestIssuerDownServesStaleKeys(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, rsaA())
	clock := newFakeClock()
	v := testVerifier(t, clock, Options{JWKSTTL: time.Hour}, githubAgainst(f))
	ctx := context.Background()

	if _, err := v.Verify(ctx, sign(t, rsaA(), githubClaims(GitHubActionsIssuer, clock.Now()), nil)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	f.down.Store(true)
	clock.Advance(2 * time.Hour) // keys are past their TTL
	claims := githubClaims(GitHubActionsIssuer, clock.Now())
	if _, err := v.Verify(ctx, sign(t, rsaA(), claims, nil)); err != nil {
		t.Fatalf("Verify with issuer down: %v", err)
	}
	if got := f.jwksHits.Load(); got != 2 {
		t.Fatalf("jwks requested %d times, want 2 (one failed refresh)", got)
	}
	// The failed refresh is not retried on every token.
	if _, err := v.Verify(ctx, sign(t, rsaA(), claims, nil)); err != nil {
		t.Fatalf("Verify with issuer down again: %v", err)
	}
	if got := f.jwksHits.Load(); got != 2 {
		t.Fatalf("jwks requested %d times, want still 2", got)
	}
	// A kid that is not cached cannot be served while the issuer is down;
	// that is an outage, not a forgery.
	clock.Advance(time.Minute)
	if _, err := v.Verify(ctx, sign(t, rsaB(), claims, nil)); !errors.Is(err, ErrIssuerUnavailable) {
		t.Fatalf("uncached kid with issuer down: error = %v, want ErrIssuerUnavailable", err)
	}
	// Back up: the next refresh succeeds.
	f.down.Store(false)
	f.publish(rsaA(), rsaB())
	clock.Advance(time.Minute)
	if _, err := v.Verify(ctx, sign(t, rsaB(), claims, nil)); err != nil {
		t.Fatalf("Verify after recovery: %v", err)
	}
}

func TestIssuerDownWithNoCachedKeysIsUnavailable(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, rsaA())
	f.down.Store(true)
	clock := newFakeClock()
	v := testVerifier(t, clock, Options{}, githubAgainst(f))
	raw := sign(t, rsaA(), githubClaims(GitHubActionsIssuer, clock.Now()), nil)
	for range 3 {
		if _, err := v.Verify(context.Background(), raw); !errors.Is(err, ErrIssuerUnavailable) {
			t.Fatalf("error = %v, want ErrIssuerUnavailable", err)
		}
	}
	if got := f.jwksHits.Load(); got != 1 {
		t.Fatalf("jwks requested %d times, want 1 (later attempts rate-limited)", got)
	}
}

func TestHangingIssuerTimesOut(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, rsaA())
	f.hang.Store(true)
	clock := newFakeClock()
	v := testVerifier(t, clock, Options{FetchTimeout: 100 * time.Millisecond}, githubAgainst(f))
	raw := sign(t, rsaA(), githubClaims(GitHubActionsIssuer, clock.Now()), nil)
	start := time.Now()
	_, err := v.Verify(context.Background(), raw)
	if !errors.Is(err, ErrIssuerUnavailable) {
		t.Fatalf("error = %v, want ErrIssuerUnavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Verify took %s with a 100ms fetch timeout", d)
	}
}

func TestConcurrentColdVerifiesShareOneFetch(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, ecA())
	clock := newFakeClock()
	is := Issuer{Name: "local", URL: f.URL(), Audiences: []string{testAudience}, Algorithms: []string{"ES256"}}
	v := testVerifier(t, clock, Options{}, is)
	raw := sign(t, ecA(), githubClaims(f.URL(), clock.Now()), nil)

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), raw)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
	if d, j := f.discoHits.Load(), f.jwksHits.Load(); d != 1 || j != 1 {
		t.Errorf("discovery %d, jwks %d requests; want 1 each", d, j)
	}
}

func TestOversizedTokenRefusedBeforeParsing(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, rsaA())
	clock := newFakeClock()
	v := testVerifier(t, clock, Options{}, githubAgainst(f))

	claims := githubClaims(GitHubActionsIssuer, clock.Now())
	claims["padding"] = strings.Repeat("A", DefaultMaxTokenSize)
	tests := map[string]string{
		"signed token over the cap": sign(t, rsaA(), claims, nil),
		"garbage over the cap":      strings.Repeat("a.", DefaultMaxTokenSize/2+1),
		// Many tiny header parts: the shape of the go-jose split DoS.
		"many dots": strings.Repeat(".", DefaultMaxTokenSize+1),
	}
	for name, raw := range tests {
		if _, err := v.Verify(context.Background(), raw); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: error = %v, want ErrInvalidToken", name, err)
		}
	}
	if got := f.jwksHits.Load(); got != 0 {
		t.Errorf("oversized tokens caused %d key fetches", got)
	}

	// Just under the cap is accepted.
	delete(claims, "padding")
	small := sign(t, rsaA(), claims, nil)
	claims["padding"] = strings.Repeat("A", (DefaultMaxTokenSize-len(small))*3/4-64)
	fits := sign(t, rsaA(), claims, nil)
	if len(fits) > DefaultMaxTokenSize {
		t.Fatalf("test token is %d bytes", len(fits))
	}
	if _, err := v.Verify(context.Background(), fits); err != nil {
		t.Fatalf("token of %d bytes: %v", len(fits), err)
	}
}

func TestOversizedJWKSRefused(t *testing.T) {
	t.Parallel()
	for _, chunked := range []bool{false, true} {
		f := newFakeIssuer(t)
		keys, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{rsaA().jwk()}})
		if err != nil {
			t.Fatal(err)
		}
		// A valid key set padded past the limit with whitespace.
		f.jwksBody = append(keys, []byte(strings.Repeat(" ", 8<<10))...)
		f.chunked = chunked
		clock := newFakeClock()
		v := testVerifier(t, clock, Options{MaxJWKSSize: 4 << 10}, githubAgainst(f))
		raw := sign(t, rsaA(), githubClaims(GitHubActionsIssuer, clock.Now()), nil)
		if _, err := v.Verify(context.Background(), raw); !errors.Is(err, ErrIssuerUnavailable) {
			t.Errorf("chunked=%v: error = %v, want ErrIssuerUnavailable", chunked, err)
		}

		// The same set within the limit verifies.
		v = testVerifier(t, clock, Options{MaxJWKSSize: 16 << 10}, githubAgainst(f))
		if _, err := v.Verify(context.Background(), raw); err != nil {
			t.Errorf("chunked=%v: within limit: %v", chunked, err)
		}
	}
}

func TestReplayedJTIRefused(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, rsaA())
	clock := newFakeClock()
	is := githubAgainst(f)
	is.JTIReplay = true
	v := testVerifier(t, clock, Options{}, is)
	ctx := context.Background()
	claims := githubClaims(GitHubActionsIssuer, clock.Now())
	raw := sign(t, rsaA(), claims, nil)

	if _, err := v.Verify(ctx, raw); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if _, err := v.Verify(ctx, raw); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: error = %v, want ErrReplay", err)
	}
	claims["jti"] = "another"
	if _, err := v.Verify(ctx, sign(t, rsaA(), claims, nil)); err != nil {
		t.Fatalf("other jti: %v", err)
	}
	delete(claims, "jti")
	if _, err := v.Verify(ctx, sign(t, rsaA(), claims, nil)); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("no jti: error = %v, want ErrInvalidToken", err)
	}
	// An invalid token never occupies the cache.
	claims["jti"] = "bad-aud"
	claims["aud"] = "elsewhere"
	if _, err := v.Verify(ctx, sign(t, rsaA(), claims, nil)); !errors.Is(err, ErrAudience) {
		t.Fatalf("bad aud: error = %v", err)
	}
	if n := v.replay.len(); n != 2 {
		t.Fatalf("replay cache holds %d entries, want 2", n)
	}

	// Without JTIReplay the same token verifies twice.
	plain := testVerifier(t, clock, Options{}, githubAgainst(f))
	for range 2 {
		if _, err := plain.Verify(ctx, raw); err != nil {
			t.Fatalf("JTIReplay off: %v", err)
		}
	}
}

func TestReplayCacheBoundedAndExpiring(t *testing.T) {
	t.Parallel()
	c := newReplayCache(2)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	if err := c.remember("a", now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	if err := c.remember("b", now.Add(2*time.Minute), now); err != nil {
		t.Fatal(err)
	}
	if err := c.remember("c", now.Add(time.Minute), now); !errors.Is(err, ErrReplay) {
		t.Fatalf("full cache: error = %v, want ErrReplay", err)
	}
	if err := c.remember("a", now.Add(time.Minute), now.Add(30*time.Second)); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay before expiry: error = %v, want ErrReplay", err)
	}
	// After a's expiry its slot is free again.
	later := now.Add(time.Minute)
	if err := c.remember("c", later.Add(time.Minute), later); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if n := c.len(); n != 2 {
		t.Fatalf("len = %d, want 2", n)
	}
}

func TestInlineJWKSNeverFetches(t *testing.T) {
	t.Parallel()
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{rsaA().jwk(), ecA().jwk()}})
	if err != nil {
		t.Fatal(err)
	}
	var requests sync.Map
	noNetwork := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		requests.Store(r.URL.String(), true)
		return nil, errors.New("network is off")
	})}
	is := Issuer{
		Name:       "airgapped",
		URL:        "https://ci.internal.example",
		Audiences:  []string{testAudience},
		InlineJWKS: set,
	}
	clock := newFakeClock()
	v := testVerifier(t, clock, Options{HTTPClient: noNetwork}, is)
	claims := githubClaims(is.URL, clock.Now())
	ctx := context.Background()
	for _, k := range []testKey{rsaA(), ecA()} {
		if _, err := v.Verify(ctx, sign(t, k, claims, nil)); err != nil {
			t.Errorf("%s: %v", k.kid, err)
		}
	}
	clock.Advance(48 * time.Hour) // far past any TTL
	claims = githubClaims(is.URL, clock.Now())
	if _, err := v.Verify(ctx, sign(t, rsaB(), claims, nil)); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("unknown kid: error = %v, want ErrInvalidToken", err)
	}
	requests.Range(func(k, _ any) bool {
		t.Errorf("request sent to %v", k)
		return true
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDiscovery(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	tests := []struct {
		name  string
		setup func(f *fakeIssuer)
		want  error
	}{
		{"jwks_uri from discovery", func(*fakeIssuer) {}, nil},
		{"discovery names another issuer", func(f *fakeIssuer) { f.issuer = "https://token.actions.githubusercontent.com" }, ErrIssuerUnavailable},
		{"jwks_uri over plain http off loopback", func(f *fakeIssuer) { f.jwksURI = "http://keys.example.test/jwks" }, ErrIssuerUnavailable},
		{"issuer down", func(f *fakeIssuer) { f.down.Store(true) }, ErrIssuerUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeIssuer(t, rsaA(), ecA())
			tc.setup(f)
			is := Issuer{Name: "local", URL: f.URL(), Audiences: []string{testAudience}}
			v := testVerifier(t, clock, Options{}, is)
			_, err := v.Verify(context.Background(), sign(t, ecA(), githubClaims(f.URL(), clock.Now()), nil))
			if tc.want == nil && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Verify error = %v, want %v", err, tc.want)
			}
			if got := f.discoHits.Load(); got != 1 {
				t.Errorf("discovery requested %d times, want 1", got)
			}
		})
	}
}

func TestRedirectToPlainHTTPRefused(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, rsaA())
	clock := newFakeClock()
	var offLoopback sync.Map
	// The transport answers loopback requests with a redirect to a public
	// http host and records anything else it is asked to send.
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Hostname() != "127.0.0.1" {
			offLoopback.Store(r.URL.String(), true)
			return nil, errors.New("refused by test")
		}
		h := http.Header{}
		h.Set("Location", "http://keys.example.test/jwks")
		return &http.Response{StatusCode: http.StatusFound, Header: h, Body: http.NoBody, Request: r}, nil
	})}
	v := testVerifier(t, clock, Options{HTTPClient: client}, githubAgainst(f))
	raw := sign(t, rsaA(), githubClaims(GitHubActionsIssuer, clock.Now()), nil)
	if _, err := v.Verify(context.Background(), raw); !errors.Is(err, ErrIssuerUnavailable) {
		t.Fatalf("error = %v, want ErrIssuerUnavailable", err)
	}
	offLoopback.Range(func(k, _ any) bool {
		t.Errorf("redirect followed to %v", k)
		return true
	})
}

func TestTokenWithoutKID(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	one := newFakeIssuer(t, rsaA())
	two := newFakeIssuer(t, rsaA(), rsaB())
	for _, tc := range []struct {
		f     *fakeIssuer
		valid bool
	}{{one, true}, {two, false}} {
		v := testVerifier(t, clock, Options{}, githubAgainst(tc.f))
		k := rsaA()
		k.kid = ""
		_, err := v.Verify(context.Background(), sign(t, k, githubClaims(GitHubActionsIssuer, clock.Now()), nil))
		if tc.valid && err != nil {
			t.Errorf("single key: %v", err)
		}
		if !tc.valid && !errors.Is(err, ErrInvalidToken) {
			t.Errorf("two keys, no kid: error = %v, want ErrInvalidToken", err)
		}
	}
}

func TestEdDSAIssuer(t *testing.T) {
	t.Parallel()
	f := newFakeIssuer(t, edA())
	clock := newFakeClock()
	is := Issuer{Name: "k8s", URL: f.URL(), Audiences: []string{testAudience}, Algorithms: []string{"EdDSA"}, JWKSURL: f.JWKSURL()}
	v := testVerifier(t, clock, Options{}, is)
	if _, err := v.Verify(context.Background(), sign(t, edA(), githubClaims(f.URL(), clock.Now()), nil)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}
