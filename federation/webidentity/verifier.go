package webidentity

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Defaults and limits for Options.
const (
	DefaultJWKSTTL            = time.Hour
	DefaultRefreshMinInterval = 30 * time.Second
	DefaultMaxTokenSize       = 16 << 10
	DefaultMaxJWKSSize        = 256 << 10
	DefaultFetchTimeout       = 5 * time.Second
	DefaultSkew               = 60 * time.Second
	DefaultMaxReplayEntries   = 100_000

	// MaxSkew is the largest clock skew Options accepts: the security
	// invariants allow at most 60 s on iss/aud/exp checks.
	MaxSkew = 60 * time.Second
	// MaxLifetime bounds exp - iat. Workload tokens live minutes (GitHub's
	// live minutes); a token valid for longer than a day is a long-lived
	// credential in disguise.
	MaxLifetime = 24 * time.Hour
)

// Options tune a Verifier. Zero values take the defaults above.
type Options struct {
	// HTTPClient fetches discovery documents and key sets. Its redirect
	// policy is wrapped so redirects stay on https.
	HTTPClient *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// JWKSTTL is how long fetched keys are used before a refresh.
	JWKSTTL time.Duration
	// RefreshMinInterval is the least time between two fetches for one
	// issuer, whatever triggers them (TTL, unknown kid, earlier failure).
	RefreshMinInterval time.Duration
	// MaxTokenSize caps the raw token length, checked before any parsing
	// (go-jose CVE-2024-28180 and CVE-2025-27144 were costs proportional to
	// attacker-sized input).
	MaxTokenSize int
	// MaxJWKSSize caps discovery and JWKS response bodies, in bytes.
	MaxJWKSSize int64
	// FetchTimeout bounds one key refresh: discovery (when used) and the
	// JWKS request together.
	FetchTimeout time.Duration
	// Skew is the clock skew tolerated on exp, nbf and iat; at most MaxSkew.
	// Zero means DefaultSkew; ask for a nanosecond to get practically none.
	Skew time.Duration
	// MaxReplayEntries bounds the jti replay cache shared by all issuers
	// with JTIReplay.
	MaxReplayEntries int
}

func (o Options) withDefaults() (Options, error) {
	var errs []error
	neg := func(name string, bad bool) {
		if bad {
			errs = append(errs, fmt.Errorf("options.%s: must not be negative", name))
		}
	}
	neg("jwks_ttl", o.JWKSTTL < 0)
	neg("refresh_min_interval", o.RefreshMinInterval < 0)
	neg("max_token_size", o.MaxTokenSize < 0)
	neg("max_jwks_size", o.MaxJWKSSize < 0)
	neg("fetch_timeout", o.FetchTimeout < 0)
	neg("skew", o.Skew < 0)
	neg("max_replay_entries", o.MaxReplayEntries < 0)
	if o.Skew > MaxSkew {
		errs = append(errs, fmt.Errorf("options.skew: %s exceeds the maximum of %s", o.Skew, MaxSkew))
	}
	if err := errors.Join(errs...); err != nil {
		return o, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	setDefault(&o.JWKSTTL, DefaultJWKSTTL)
	setDefault(&o.RefreshMinInterval, DefaultRefreshMinInterval)
	setDefault(&o.MaxTokenSize, DefaultMaxTokenSize)
	setDefault(&o.MaxJWKSSize, DefaultMaxJWKSSize)
	setDefault(&o.FetchTimeout, DefaultFetchTimeout)
	setDefault(&o.Skew, DefaultSkew)
	setDefault(&o.MaxReplayEntries, DefaultMaxReplayEntries)
	return o, nil
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// Verifier checks tokens from a set of trusted issuers. It is safe for concurrent
// use; Update replaces the set while requests are served.
type Verifier struct {
	issuers atomic.Pointer[map[string]*trustedIssuer] // by exact iss
	update  sync.Mutex                                // serialises Update
	opts    Options
	client  *http.Client
	now     func() time.Time
	skew    time.Duration
	maxSize int
	replay  *replayCache
}

// trustedIssuer is an issuer with what verification needs precomputed.
type trustedIssuer struct {
	cfg       *Issuer
	algs      []jose.SignatureAlgorithm
	audiences map[string]bool
	keyPrefix string
	keys      *keySource
}

// NewVerifier validates every issuer and the options, reporting all
// problems at once. It does no network I/O: keys are fetched on first use.
// An empty set is allowed (issuers may be added later with Update); it
// refuses every token.
func NewVerifier(issuers []Issuer, opts Options) (*Verifier, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	v := &Verifier{
		opts:    opts,
		client:  fetchClient(opts.HTTPClient),
		now:     opts.Now,
		skew:    opts.Skew,
		maxSize: opts.MaxTokenSize,
		replay:  newReplayCache(opts.MaxReplayEntries),
	}
	if err := v.Update(issuers); err != nil {
		return nil, err
	}
	return v, nil
}

// Update validates issuers and, when all are valid, makes them the trusted set; on
// error the set in force is unchanged. An issuer whose settings did not change keeps
// its cached keys, and the jti replay cache survives, so an update never reopens a
// replay window or forces a fetch.
func (v *Verifier) Update(issuers []Issuer) error {
	var errs []error
	names := make(map[string]bool, len(issuers))
	urls := make(map[string]bool, len(issuers))
	for n, is := range issuers {
		p := is.path()
		if is.Name == "" {
			p = fmt.Sprintf("issuers[%d]", n)
		}
		if err := is.validate(p); err != nil {
			errs = append(errs, err)
		}
		if is.Name != "" && names[is.Name] {
			errs = append(errs, fmt.Errorf("%s.name: duplicate issuer name %q", p, is.Name))
		}
		if is.URL != "" && urls[is.URL] {
			errs = append(errs, fmt.Errorf("%s.url: issuer %q is configured twice", p, is.URL))
		}
		names[is.Name], urls[is.URL] = true, true
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}

	v.update.Lock()
	defer v.update.Unlock()
	var old map[string]*trustedIssuer
	if cur := v.issuers.Load(); cur != nil {
		old = *cur
	}
	next := make(map[string]*trustedIssuer, len(issuers))
	for _, is := range issuers {
		cfg := is
		cfg.Algorithms = slices.Clone(is.effectiveAlgorithms())
		cfg.Audiences = slices.Clone(is.Audiences)
		cfg.InlineJWKS = slices.Clone(is.InlineJWKS)
		if prev, ok := old[cfg.URL]; ok && sameIssuer(prev.cfg, &cfg) {
			next[cfg.URL] = prev
			continue
		}
		t, err := v.trusted(cfg)
		if err != nil {
			return err
		}
		next[cfg.URL] = t
	}
	v.issuers.Store(&next)
	return nil
}

// sameIssuer reports whether two validated issuer settings are equal.
func sameIssuer(a, b *Issuer) bool {
	return a.Name == b.Name && a.URL == b.URL && a.JWKSURL == b.JWKSURL && a.JTIReplay == b.JTIReplay &&
		slices.Equal(a.Audiences, b.Audiences) && slices.Equal(a.Algorithms, b.Algorithms) &&
		bytes.Equal(a.InlineJWKS, b.InlineJWKS)
}

// trusted precomputes what verification needs for one validated issuer.
func (v *Verifier) trusted(cfg Issuer) (*trustedIssuer, error) {
	t := &trustedIssuer{
		cfg:       &cfg,
		audiences: make(map[string]bool, len(cfg.Audiences)),
		keyPrefix: conditionKeyPrefix(cfg.URL),
	}
	allowed := make(map[jose.SignatureAlgorithm]bool, len(cfg.Algorithms))
	for _, a := range cfg.Algorithms {
		t.algs = append(t.algs, algorithms[a])
		allowed[algorithms[a]] = true
	}
	for _, a := range cfg.Audiences {
		t.audiences[a] = true
	}
	opts := v.opts
	t.keys = &keySource{
		issuer:      cfg.URL,
		jwksURL:     cfg.JWKSURL,
		allowed:     allowed,
		client:      v.client,
		now:         opts.Now,
		ttl:         opts.JWKSTTL,
		minInterval: opts.RefreshMinInterval,
		timeout:     opts.FetchTimeout,
		maxBody:     opts.MaxJWKSSize,
	}
	if len(cfg.InlineJWKS) > 0 {
		set, err := parseJWKS(cfg.InlineJWKS, allowed)
		if err != nil {
			// validate parsed it already; this is unreachable unless parseJWKS
			// stops being deterministic.
			return nil, fmt.Errorf("%s.inline_jwks: %v", cfg.path(), err)
		}
		t.keys.inline = true
		t.keys.keys = set
	}
	return t, nil
}

// lookup returns the trusted issuer whose URL is exactly iss.
func (v *Verifier) lookup(iss string) (*trustedIssuer, bool) {
	m := v.issuers.Load()
	if m == nil {
		return nil, false
	}
	t, ok := (*m)[iss]
	return t, ok
}

// Verify checks raw, a JWS compact serialization, against the trusted
// issuers and returns its claims. The order of checks is deliberate: size
// before parsing, issuer (unverified, only to pick keys and the algorithm
// allow-list) before the signature, claims only from the verified payload,
// and the replay cache last so that only fully valid tokens occupy it.
//
// Errors wrap one of the package's sentinels; their text is for logs.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Token, error) {
	if len(raw) > v.maxSize {
		return nil, fmt.Errorf("%w: token is %d bytes, limit is %d", ErrInvalidToken, len(raw), v.maxSize)
	}
	iss, err := unverifiedIssuer(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	ti, ok := v.lookup(iss)
	if !ok {
		return nil, fmt.Errorf("%w: issuer %s is not trusted", ErrInvalidToken, quote(iss))
	}

	// Only the compact serialization: RFC 7519 §7.2 defines a JWT as
	// compact, and the JSON serializations could carry unprotected headers
	// or several signatures. The allow-list is the issuer's own, so none,
	// HMAC and anything unpinned fail here (RFC 8725 §3.1).
	jws, err := jose.ParseSignedCompact(raw, ti.algs)
	if err != nil {
		return nil, fmt.Errorf("%w: parse: %v", ErrInvalidToken, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: %d signatures", ErrInvalidToken, len(jws.Signatures))
	}
	hdr := jws.Signatures[0].Protected
	alg := jose.SignatureAlgorithm(hdr.Algorithm)
	// RFC 7797's b64=false would make the signed bytes differ from the
	// payload segment read above; JWTs never use it (RFC 7797 §7).
	if _, ok := hdr.ExtraHeaders["b64"]; ok {
		return nil, fmt.Errorf("%w: b64 header parameter is not allowed in a JWT", ErrInvalidToken)
	}
	// The jku, jwk, x5u and x5c parameters are deliberately never read:
	// keys come only from the issuer's configured or discovered JWKS
	// (RFC 8725 §3.10). kid only selects among those keys.
	keys, err := ti.keys.lookup(ctx, hdr.KeyID, alg)
	if err != nil {
		return nil, err
	}
	var payload []byte
	for _, k := range keys {
		if payload, err = jws.Verify(k.pub); err == nil {
			break
		}
	}
	if payload == nil {
		return nil, fmt.Errorf("%w: signature verification failed (kid %s, alg %s): %v", ErrInvalidToken, quote(hdr.KeyID), alg, err)
	}

	claims, err := decodeClaims(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	tok, err := v.checkClaims(ti, claims)
	if err != nil {
		return nil, err
	}
	if ti.cfg.JTIReplay {
		if tok.JTI == "" {
			return nil, fmt.Errorf("%w: issuer %s requires jti for replay protection", ErrInvalidToken, ti.cfg.Name)
		}
		// Remember the token as long as it could be accepted.
		if err := v.replay.remember(ti.cfg.URL+"\x00"+tok.JTI, tok.Expiry.Add(v.skew), v.now()); err != nil {
			return nil, fmt.Errorf("issuer %s jti %s: %w", ti.cfg.Name, quote(tok.JTI), err)
		}
	}
	return tok, nil
}

// checkClaims applies RFC 7519 §4.1 to the verified claims.
func (v *Verifier) checkClaims(ti *trustedIssuer, claims map[string]any) (*Token, error) {
	tok := &Token{Issuer: ti.cfg, Claims: claims, keyPrefix: ti.keyPrefix}

	// Exact match after verification (RFC 7519 §4.1.1; the unverified
	// value only chose the keys).
	if iss, ok := claims["iss"].(string); !ok || iss != ti.cfg.URL {
		return nil, fmt.Errorf("%w: iss does not match issuer %s", ErrInvalidToken, ti.cfg.URL)
	}

	sub, ok := claims["sub"].(string)
	if !ok || sub == "" {
		return nil, fmt.Errorf("%w: sub missing or not a non-empty string", ErrInvalidToken)
	}
	tok.Subject = sub

	aud, err := audience(claims)
	if err != nil {
		return nil, err
	}
	tok.Audience = aud
	if !slices.ContainsFunc(aud, func(a string) bool { return ti.audiences[a] }) {
		return nil, fmt.Errorf("%w: aud %s not accepted for issuer %s", ErrAudience, quote(strings.Join(aud, ",")), ti.cfg.Name)
	}

	now := v.now()
	exp, ok, err := numericDate(claims, "exp")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: exp missing", ErrInvalidToken)
	}
	iat, ok, err := numericDate(claims, "iat")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: iat missing", ErrInvalidToken)
	}
	nbf, hasNBF, err := numericDate(claims, "nbf")
	if err != nil {
		return nil, err
	}
	tok.Expiry, tok.IssuedAt = exp, iat

	// RFC 7519 §4.1.4: reject on or after exp, allowing the skew.
	if !now.Before(exp.Add(v.skew)) {
		return nil, fmt.Errorf("%w: exp %s is before now %s (skew %s)", ErrExpired, exp.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), v.skew)
	}
	// RFC 7519 §4.1.5. nbf may lie well before iat (GitHub backdates it),
	// so it is checked on its own and never assumed equal to iat.
	if hasNBF && now.Add(v.skew).Before(nbf) {
		return nil, fmt.Errorf("%w: nbf %s is after now %s (skew %s)", ErrNotYetValid, nbf.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), v.skew)
	}
	// A token issued in the future comes from a broken or hostile clock.
	if now.Add(v.skew).Before(iat) {
		return nil, fmt.Errorf("%w: iat %s is after now %s (skew %s)", ErrNotYetValid, iat.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), v.skew)
	}
	if !exp.After(iat) {
		return nil, fmt.Errorf("%w: exp is not after iat", ErrInvalidToken)
	}
	if exp.Sub(iat) > MaxLifetime {
		return nil, fmt.Errorf("%w: lifetime %s exceeds %s", ErrInvalidToken, exp.Sub(iat), MaxLifetime)
	}

	if j, present := claims["jti"]; present {
		s, ok := j.(string)
		if !ok {
			return nil, fmt.Errorf("%w: jti is not a string", ErrInvalidToken)
		}
		tok.JTI = s
	}
	return tok, nil
}

// audience reads aud, which RFC 7519 §4.1.3 allows as one string or an
// array of strings.
func audience(claims map[string]any) ([]string, error) {
	switch a := claims["aud"].(type) {
	case nil:
		return nil, fmt.Errorf("%w: aud missing", ErrAudience)
	case string:
		if a == "" {
			return nil, fmt.Errorf("%w: aud is empty", ErrAudience)
		}
		return []string{a}, nil
	case []any:
		if len(a) == 0 {
			return nil, fmt.Errorf("%w: aud is an empty array", ErrAudience)
		}
		out := make([]string, 0, len(a))
		for _, e := range a {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%w: aud array holds a non-string", ErrInvalidToken)
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%w: aud is neither a string nor an array", ErrInvalidToken)
	}
}

// maxNumericDate is 9999-12-31T23:59:59Z; later dates are nonsense and would
// overflow time arithmetic.
const maxNumericDate = 253402300799

// numericDate reads a NumericDate claim (RFC 7519 §2: seconds since the
// epoch, fractions allowed).
func numericDate(claims map[string]any, name string) (time.Time, bool, error) {
	v, present := claims[name]
	if !present {
		return time.Time{}, false, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false, fmt.Errorf("%w: %s is not a number", ErrInvalidToken, name)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, false, fmt.Errorf("%w: %s is out of range", ErrInvalidToken, name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true, nil
}

// unverifiedIssuer reads iss from the payload of a compact JWS without
// verifying anything. It exists only to choose the issuer whose keys and
// algorithms then verify the token.
func unverifiedIssuer(raw string) (string, error) {
	_, rest, ok := strings.Cut(raw, ".")
	if !ok {
		return "", errors.New("not a compact JWS")
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(sig, ".") {
		return "", errors.New("not a compact JWS")
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return "", fmt.Errorf("payload: %v", err)
	}
	// A map, not a struct: encoding/json matches struct fields
	// case-insensitively, and "ISS" must not stand in for "iss".
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return "", fmt.Errorf("payload: %v", err)
	}
	var iss string
	if err := json.Unmarshal(m["iss"], &iss); err != nil || iss == "" {
		return "", errors.New("iss missing or not a string")
	}
	return iss, nil
}

// decodeClaims decodes the verified payload, keeping numbers as json.Number
// so large ids (repository_id, run_id) survive exactly.
func decodeClaims(payload []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		return nil, err
	}
	if claims == nil {
		return nil, errors.New("payload is not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the claims object")
	}
	return claims, nil
}

// quote renders attacker-controlled text for a log line: quoted, so control
// characters cannot forge log entries, and cut short.
func quote(s string) string {
	const limit = 128
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return strconv.Quote(s)
}
