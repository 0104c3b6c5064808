package oidc

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// opaquePrefix starts every opaque access token, so secret scanners and logs can tell
// what leaked, and so the parser never mistakes an auth code (a JWE) for one.
const opaquePrefix = "pcat_"

// Labels for the keys derived from Config.CryptoKey: auth codes and opaque tokens use
// separate keys so a ciphertext of one kind can never be opened as the other.
const (
	labelCodeKey   = "portcullis oidc authorization code v1"
	labelOpaqueKey = "portcullis oidc opaque access token v1"
	opaqueAAD      = "portcullis/oidc/opaque-access-token/v1"
)

// RFC 9068 §2.1: the header typ of a JWT access token; "application/at+jwt" is the
// same media type written out in full.
const (
	typATJWT     = "at+jwt"
	typATJWTLong = "application/at+jwt"
)

// tokenCrypto is installed with op.WithCrypto. op turns every access token into
// Encrypt(tokenID + ":" + subject) when the client's type is bearer, which is what all
// our clients report. Access tokens are minted (mint) before op sees them: signed as an
// RFC 9068 at+jwt (op cannot set typ itself, LIBRARIES.md §4) or sealed as an opaque
// token. Storage hands op the finished token as the token id (see mintedPrefix), and
// Encrypt passes it through. Anything else op encrypts is an auth code and goes to an
// inner AES-256-GCM crypto.
//
// Decrypt is op's first step on /userinfo, /oauth/introspect and /revoke. It accepts
// only access tokens minted here and answers "<token>:<sub>", so the token id op hands
// storage is the raw token itself and storage re-verifies it instead of trusting a
// string a caller could have sent.
type tokenCrypto struct {
	issuer string
	keys   KeySource
	codes  op.Crypto
	opaque cipher.AEAD
	now    func() time.Time
	rand   io.Reader

	mu      sync.Mutex
	signers map[string]accessSigner   // by kid
	last    atomic.Pointer[keySigner] // the signer used last, read without mu

	// slots admits at most GOMAXPROCS signatures at once. More concurrent signers than
	// cores only interleave: each RSA signature then runs slower (caches thrash between
	// preempted goroutines) and every waiter's latency grows together.
	slots chan struct{}
}

var _ op.Crypto = (*tokenCrypto)(nil)

func newTokenCrypto(issuer string, key [32]byte, ks KeySource, now func() time.Time) (*tokenCrypto, error) {
	codeKey, err := hkdf.Key(sha256.New, key[:], nil, labelCodeKey, 32)
	if err != nil {
		return nil, fmt.Errorf("derive code key: %w", err)
	}
	opaqueKey, err := hkdf.Key(sha256.New, key[:], nil, labelOpaqueKey, 32)
	if err != nil {
		return nil, fmt.Errorf("derive opaque token key: %w", err)
	}
	block, err := aes.NewCipher(opaqueKey)
	if err != nil {
		return nil, fmt.Errorf("opaque token cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("opaque token cipher: %w", err)
	}
	return &tokenCrypto{
		issuer:  issuer,
		keys:    ks,
		codes:   op.NewAES256GCMCrypto([32]byte(codeKey), "code"),
		opaque:  aead,
		now:     now,
		rand:    rand.Reader,
		signers: make(map[string]accessSigner),
		slots:   make(chan struct{}, runtime.GOMAXPROCS(0)),
	}, nil
}

// Encrypt implements op.Crypto.
func (c *tokenCrypto) Encrypt(s string) (string, error) {
	rest, ok := strings.CutPrefix(s, mintedPrefix)
	if !ok {
		return c.codes.Encrypt(s)
	}
	tok, sub, ok := strings.Cut(rest, ":")
	if !ok || tok == "" || sub == "" {
		return "", errors.New("access token id: malformed")
	}
	return tok, nil
}

// Decrypt implements op.Crypto. It never opens auth codes: op only decrypts what a
// caller presents as an access token.
func (c *tokenCrypto) Decrypt(s string) (string, error) {
	claims, err := c.parse(s)
	if err != nil {
		return "", err
	}
	return s + ":" + claims.opSubject(), nil
}

// mint turns a claim set into an access token: an at+jwt signed with the current key,
// or an opaque token sealed with the opaque-token key. Every access token is minted
// here, whichever path issued it.
func (c *tokenCrypto) mint(claims *accessClaims, opaque bool) (string, error) {
	if opaque {
		return c.seal(claims)
	}
	return c.sign(claims)
}

func (c *tokenCrypto) sign(claims *accessClaims) (string, error) {
	k := c.keys.Current()
	signer, err := c.signerFor(k.ID, k.Algorithm, k.Private)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode access token: %w", err)
	}
	c.slots <- struct{}{}
	tok, err := signer.SignCompact(payload)
	<-c.slots
	if err != nil {
		return "", fmt.Errorf("sign access token with key %s: %w", k.ID, err)
	}
	return tok, nil
}

// signerFor caches one signer per key id: building one per token is measurable on the
// token path, and a kid never changes its key.
func (c *tokenCrypto) signerFor(kid, alg string, key crypto.Signer) (accessSigner, error) {
	if l := c.last.Load(); l != nil && l.kid == kid {
		return l.s, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.signers[kid]
	if !ok {
		var err error
		if s, err = newAccessSigner(kid, alg, key); err != nil {
			return nil, err
		}
		if len(c.signers) > 16 { // retired keys: keep the cache small
			clear(c.signers)
		}
		c.signers[kid] = s
	}
	c.last.Store(&keySigner{kid: kid, s: s})
	return s, nil
}

// keySigner is a signer with its key id.
type keySigner struct {
	kid string
	s   accessSigner
}

func (c *tokenCrypto) seal(claims *accessClaims) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode access token: %w", err)
	}
	nonce := make([]byte, c.opaque.NonceSize(), c.opaque.NonceSize()+len(payload)+c.opaque.Overhead())
	if _, err := io.ReadFull(c.rand, nonce); err != nil {
		return "", fmt.Errorf("access token nonce: %w", err)
	}
	sealed := c.opaque.Seal(nonce, nonce, payload, []byte(opaqueAAD))
	return opaquePrefix + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// parse verifies an access token minted here, or a role-session token the STS signed
// with the same keys (signature or seal, issuer, expiry), and returns its claims. It
// does not look at revocation: callers that grant access do, and callers that judge
// client tokens must set role sessions apart (accessClaims.roleSession).
func (c *tokenCrypto) parse(raw string) (*accessClaims, error) {
	if raw == "" || len(raw) > maxTokenLen {
		return nil, errNotAccessToken
	}
	var (
		claims *accessClaims
		err    error
	)
	if rest, ok := strings.CutPrefix(raw, opaquePrefix); ok {
		claims, err = c.open(rest)
	} else if strings.Count(raw, ".") == 2 {
		claims, err = c.verify(raw)
	} else {
		return nil, errNotAccessToken
	}
	if err != nil {
		return nil, err
	}
	switch {
	case claims.Issuer != c.issuer:
		return nil, fmt.Errorf("access token: wrong issuer")
	case claims.JTI == "" || claims.ClientID == "":
		return nil, fmt.Errorf("access token: missing jti or client_id")
	case claims.Subject == "" || strings.ContainsRune(claims.opSubject(), ':'):
		// Decrypt answers "<token>:<opSubject>", which op splits on ':'.
		return nil, fmt.Errorf("access token: bad subject")
	case c.now().Unix() >= claims.Expiry:
		return nil, errTokenExpired
	}
	return claims, nil
}

var errTokenExpired = errors.New("access token expired")

func (c *tokenCrypto) open(b64 string) (*accessClaims, error) {
	sealed, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil || len(sealed) < c.opaque.NonceSize()+c.opaque.Overhead() {
		return nil, errNotAccessToken
	}
	ns := c.opaque.NonceSize()
	payload, err := c.opaque.Open(nil, sealed[:ns], sealed[ns:], []byte(opaqueAAD))
	if err != nil {
		return nil, errNotAccessToken
	}
	var claims accessClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, fmt.Errorf("opaque access token: %w", err)
	}
	return &claims, nil
}

// verify checks an at+jwt against our published keys. The algorithm list is pinned to
// the algorithms of our own keys and the key is chosen by kid and algorithm together, so
// neither "none" nor an HMAC keyed with a public key can pass (RFC 8725 §3.1). The typ
// check keeps ID tokens, which we sign with the same keys, from passing as access
// tokens (RFC 9068 §4).
func (c *tokenCrypto) verify(raw string) (*accessClaims, error) {
	pub := c.keys.PublicKeys()
	algs := make([]jose.SignatureAlgorithm, 0, len(pub))
	for _, k := range pub {
		algs = append(algs, jose.SignatureAlgorithm(k.Algorithm))
	}
	jws, err := jose.ParseSigned(raw, algs)
	if err != nil {
		return nil, errNotAccessToken
	}
	if len(jws.Signatures) != 1 {
		return nil, errNotAccessToken
	}
	h := jws.Signatures[0].Protected
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if !strings.EqualFold(typ, typATJWT) && !strings.EqualFold(typ, typATJWTLong) {
		return nil, errNotAccessToken
	}
	for _, k := range pub {
		if k.ID != h.KeyID || k.Algorithm != h.Algorithm {
			continue
		}
		payload, err := jws.Verify(k.Public)
		if err != nil {
			return nil, errNotAccessToken
		}
		var claims accessClaims
		if err := json.Unmarshal(payload, &claims); err != nil {
			return nil, fmt.Errorf("jwt access token: %w", err)
		}
		return &claims, nil
	}
	return nil, errNotAccessToken
}
