package webidentity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keySource caches one issuer's JWKS. Keys are refreshed when older than the
// TTL or when a token names an unknown kid (the issuer rotated), but never
// more often than once per minInterval, so a stream of tokens with made-up
// kids cannot turn the verifier into a traffic amplifier against the issuer.
// When a refresh fails the previous keys keep serving: an issuer outage must
// not lock out tokens it signed before the outage.
type keySource struct {
	issuer      string // exact issuer URL, compared with discovery's issuer
	jwksURL     string // configured JWKS URL; empty means discover
	inline      bool   // keys came from configuration; never fetch
	allowed     map[jose.SignatureAlgorithm]bool
	client      *http.Client
	now         func() time.Time
	ttl         time.Duration
	minInterval time.Duration
	timeout     time.Duration
	maxBody     int64

	mu          sync.Mutex
	keys        *keySet // nil until the first successful load
	fetchedAt   time.Time
	lastAttempt time.Time
	lastErr     error         // error of the last attempt, nil after a success
	discovered  string        // jwks_uri from discovery, cleared when it fails
	inflight    chan struct{} // closed when the running fetch finishes
}

// lookup returns the keys that may verify a token signed with alg by kid,
// refreshing the cache first when it is stale or lacks the kid and the rate
// limit allows.
func (s *keySource) lookup(ctx context.Context, kid string, alg jose.SignatureAlgorithm) ([]verificationKey, error) {
	fetched := false
	for {
		s.mu.Lock()
		if s.inline {
			keys := s.keys.find(kid, alg)
			s.mu.Unlock()
			if len(keys) == 0 {
				return nil, fmt.Errorf("%w: no key %s for %s in the configured key set", ErrInvalidToken, quote(kid), alg)
			}
			return keys, nil
		}
		if wait := s.inflight; wait != nil {
			// Another request is fetching; share its result rather than
			// sending a second request to the issuer.
			s.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("%w: waiting for key refresh: %v", ErrIssuerUnavailable, ctx.Err())
			}
		}
		now := s.now()
		keys := s.keys.find(kid, alg)
		stale := s.keys == nil || now.Sub(s.fetchedAt) >= s.ttl
		mayFetch := s.lastAttempt.IsZero() || now.Sub(s.lastAttempt) >= s.minInterval
		if !fetched && mayFetch && (stale || len(keys) == 0) {
			done := make(chan struct{})
			s.inflight = done
			s.lastAttempt = now
			s.mu.Unlock()

			// The fetch outlives a cancelled caller: others may be
			// waiting on it, and the rate limit has been spent. One
			// timeout covers discovery and key set together.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
			set, err := s.fetch(fctx)
			cancel()

			s.mu.Lock()
			if err == nil {
				s.keys = set
				s.fetchedAt = s.now()
			}
			s.lastErr = err
			s.inflight = nil
			close(done)
			s.mu.Unlock()
			fetched = true
			continue
		}
		lastErr := s.lastErr
		haveKeys := s.keys != nil
		s.mu.Unlock()

		switch {
		case len(keys) > 0:
			return keys, nil
		case !haveKeys:
			if lastErr == nil {
				lastErr = errors.New("no keys fetched yet")
			}
			return nil, fmt.Errorf("%w: %s: %v", ErrIssuerUnavailable, s.issuer, lastErr)
		case lastErr != nil:
			// The kid may belong to a key published while the issuer
			// was unreachable: a temporary condition, not a forgery.
			return nil, fmt.Errorf("%w: %s: no cached key %s and refresh failed: %v", ErrIssuerUnavailable, s.issuer, quote(kid), lastErr)
		default:
			return nil, fmt.Errorf("%w: issuer %s publishes no key %s for %s", ErrInvalidToken, s.issuer, quote(kid), alg)
		}
	}
}

// fetch loads the key set, discovering the JWKS URL first when none is
// configured.
func (s *keySource) fetch(ctx context.Context) (*keySet, error) {
	jwksURL := s.jwksURL
	discovered := false
	if jwksURL == "" {
		s.mu.Lock()
		jwksURL = s.discovered
		s.mu.Unlock()
		if jwksURL == "" {
			u, err := s.discover(ctx)
			if err != nil {
				return nil, err
			}
			jwksURL = u
			discovered = true
			s.mu.Lock()
			s.discovered = u
			s.mu.Unlock()
		}
	}
	body, err := s.get(ctx, jwksURL)
	if err == nil {
		var set *keySet
		if set, err = parseJWKS(body, s.allowed); err == nil {
			return set, nil
		}
		err = fmt.Errorf("jwks %s: %w", jwksURL, err)
	}
	if s.jwksURL == "" && !discovered {
		// The discovered URL may have moved; look it up again next time.
		s.mu.Lock()
		s.discovered = ""
		s.mu.Unlock()
	}
	return nil, err
}

// discover reads jwks_uri from the issuer's OpenID Provider Configuration
// (OIDC Discovery 1.0 §4).
func (s *keySource) discover(ctx context.Context) (string, error) {
	cfgURL := strings.TrimSuffix(s.issuer, "/") + "/.well-known/openid-configuration"
	body, err := s.get(ctx, cfgURL)
	if err != nil {
		return "", err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("discovery %s: %v", cfgURL, err)
	}
	var iss, jwksURI string
	if err := json.Unmarshal(doc["issuer"], &iss); err != nil {
		return "", fmt.Errorf("discovery %s: issuer: %v", cfgURL, err)
	}
	// OIDC Discovery 1.0 §4.3: the issuer in the document must be the
	// issuer it was fetched for, or one issuer could vouch keys for another.
	if iss != s.issuer {
		return "", fmt.Errorf("discovery %s: issuer is %q, want %q", cfgURL, iss, s.issuer)
	}
	if err := json.Unmarshal(doc["jwks_uri"], &jwksURI); err != nil || jwksURI == "" {
		return "", fmt.Errorf("discovery %s: jwks_uri missing or not a string", cfgURL)
	}
	if err := checkFetchURL(jwksURI); err != nil {
		return "", fmt.Errorf("discovery %s: jwks_uri %q: %v", cfgURL, jwksURI, err)
	}
	return jwksURI, nil
}

// get fetches url and refuses bodies over maxBody bytes, so a hostile or
// broken issuer cannot exhaust memory; the caller's context carries the
// fetch timeout, so it cannot stall verification either.
func (s *keySource) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s: %v", url, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s: status %s", url, resp.Status)
	}
	if resp.ContentLength > s.maxBody {
		return nil, fmt.Errorf("get %s: body is %d bytes, limit is %d", url, resp.ContentLength, s.maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("get %s: read body: %v", url, err)
	}
	if int64(len(body)) > s.maxBody {
		return nil, fmt.Errorf("get %s: body exceeds %d bytes", url, s.maxBody)
	}
	return body, nil
}

// maxRedirects bounds redirects when fetching discovery and keys.
const maxRedirects = 3

// fetchClient returns a copy of c whose redirects must stay on https (or
// loopback http): following a redirect to plain http would let a network
// attacker serve the keys.
func fetchClient(c *http.Client) *http.Client {
	if c == nil {
		c = &http.Client{}
	}
	cp := *c
	inner := c.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		if err := checkFetchURL(req.URL.String()); err != nil {
			return fmt.Errorf("redirect to %s: %v", req.URL.Redacted(), err)
		}
		if inner != nil {
			return inner(req, via)
		}
		return nil
	}
	return &cp
}
