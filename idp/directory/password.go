package directory

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id bounds accepted by ParsePHC and Hash. Hashes arrive from declarative files
// and imports, so a hostile or mistaken one must not be able to make a single sign-in
// allocate gigabytes or spin for seconds. The ceilings admit OWASP's and RFC 9106 §4's
// second recommended setting (m=64 MiB, t=3, p=4) with room to spare.
const (
	MaxMemoryKiB = 64 * 1024 // 64 MiB per verification
	MaxTime      = 10
	MaxThreads   = 16
	// MaxCost bounds Memory*Time (KiB-passes): about ten times the OWASP default.
	MaxCost    = 4 * 64 * 1024
	MinSaltLen = 8 // RFC 9106 §3.1: salt of at least 8 bytes (16 recommended)
	MaxSaltLen = 64
	MinKeyLen  = 16
	MaxKeyLen  = 64

	// maxPHCLen bounds the input before any work is done; a canonical string at the
	// ceilings above is under 200 bytes.
	maxPHCLen = 256
)

// ErrInvalidHash is wrapped by every ParsePHC / Hash parameter error.
var ErrInvalidHash = errors.New("invalid password hash")

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams returns OWASP's first argon2id setting (Password Storage Cheat Sheet):
// 19 MiB, two passes, one lane, with a 16-byte salt (RFC 9106 §3.1) and a 32-byte tag.
// About 25 ms on one core of the reference machine (DESIGN.md).
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Validate reports the first parameter outside the accepted bounds, naming it.
func (p Params) Validate() error {
	switch {
	case p.Threads < 1 || p.Threads > MaxThreads:
		return fmt.Errorf("%w: p=%d outside [1, %d]", ErrInvalidHash, p.Threads, MaxThreads)
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("%w: t=%d outside [1, %d]", ErrInvalidHash, p.Time, MaxTime)
	// RFC 9106 §3.1: memory is at least 8*p KiB.
	case p.Memory < 8*uint32(p.Threads) || p.Memory > MaxMemoryKiB:
		return fmt.Errorf("%w: m=%d outside [%d, %d]", ErrInvalidHash, p.Memory, 8*uint32(p.Threads), MaxMemoryKiB)
	case uint64(p.Memory)*uint64(p.Time) > MaxCost:
		return fmt.Errorf("%w: m*t=%d exceeds %d", ErrInvalidHash, uint64(p.Memory)*uint64(p.Time), MaxCost)
	case p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen:
		return fmt.Errorf("%w: salt length %d outside [%d, %d]", ErrInvalidHash, p.SaltLen, MinSaltLen, MaxSaltLen)
	case p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen:
		return fmt.Errorf("%w: hash length %d outside [%d, %d]", ErrInvalidHash, p.KeyLen, MinKeyLen, MaxKeyLen)
	}
	return nil
}

// PHC is a parsed argon2id hash in the PHC string format.
type PHC struct {
	Params Params // SaltLen and KeyLen are the decoded lengths of Salt and Key
	Salt   []byte
	Key    []byte
}

// phcB64 is the PHC format's "B64": standard alphabet, no padding.
var phcB64 = base64.RawStdEncoding.Strict()

// String encodes h as `$argon2id$v=19$m=..,t=..,p=..$<salt>$<hash>`.
func (h PHC) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.Params.Memory, h.Params.Time, h.Params.Threads,
		phcB64.EncodeToString(h.Salt), phcB64.EncodeToString(h.Key))
}

// ParsePHC parses an argon2id PHC string strictly: only the canonical form String
// produces is accepted (version 19, parameters in the order m,t,p as plain decimals,
// unpadded standard base64), and every parameter must lie within the bounds above.
func ParsePHC(s string) (PHC, error) {
	if len(s) > maxPHCLen {
		return PHC{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidHash, maxPHCLen)
	}
	// "$argon2id$v=19$m=..,t=..,p=..$salt$hash" splits into 6 fields, the first empty.
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" {
		return PHC{}, fmt.Errorf("%w: want $argon2id$v=19$m=,t=,p=$salt$hash", ErrInvalidHash)
	}
	if f[1] != "argon2id" {
		return PHC{}, fmt.Errorf("%w: algorithm %q, want argon2id", ErrInvalidHash, f[1])
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return PHC{}, fmt.Errorf("%w: version %q, want v=%d", ErrInvalidHash, f[2], argon2.Version)
	}
	var h PHC
	params := strings.Split(f[3], ",")
	if len(params) != 3 {
		return PHC{}, fmt.Errorf("%w: parameters %q, want m=,t=,p=", ErrInvalidHash, f[3])
	}
	m, err := phcUint(params[0], "m", MaxMemoryKiB)
	if err != nil {
		return PHC{}, err
	}
	t, err := phcUint(params[1], "t", MaxTime)
	if err != nil {
		return PHC{}, err
	}
	p, err := phcUint(params[2], "p", MaxThreads)
	if err != nil {
		return PHC{}, err
	}
	h.Params.Memory, h.Params.Time, h.Params.Threads = m, t, uint8(p)

	// Check encoded lengths before decoding so a huge field costs nothing.
	if h.Salt, err = phcBytes(f[4], "salt", MinSaltLen, MaxSaltLen); err != nil {
		return PHC{}, err
	}
	if h.Key, err = phcBytes(f[5], "hash", MinKeyLen, MaxKeyLen); err != nil {
		return PHC{}, err
	}
	h.Params.SaltLen, h.Params.KeyLen = uint32(len(h.Salt)), uint32(len(h.Key))
	if err := h.Params.Validate(); err != nil {
		return PHC{}, err
	}
	return h, nil
}

// phcUint parses "name=decimal" with no sign, no leading zero and value <= max.
func phcUint(field, name string, max uint32) (uint32, error) {
	v, ok := strings.CutPrefix(field, name+"=")
	if !ok {
		return 0, fmt.Errorf("%w: parameter %q, want %s=", ErrInvalidHash, field, name)
	}
	if v == "" || len(v) > 10 || (len(v) > 1 && v[0] == '0') {
		return 0, fmt.Errorf("%w: %s=%q is not a canonical decimal", ErrInvalidHash, name, v)
	}
	var n uint64
	for _, c := range []byte(v) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: %s=%q is not a canonical decimal", ErrInvalidHash, name, v)
		}
		n = n*10 + uint64(c-'0')
	}
	if n > uint64(max) {
		return 0, fmt.Errorf("%w: %s=%d exceeds %d", ErrInvalidHash, name, n, max)
	}
	return uint32(n), nil
}

// phcBytes decodes an unpadded base64 field of minLen..maxLen bytes. Go's decoder
// skips CR and LF, so the alphabet is checked first; Strict rejects non-zero trailing
// bits, so each byte string has exactly one accepted encoding.
func phcBytes(field, name string, minLen, maxLen int) ([]byte, error) {
	if n := len(field); n < phcB64.EncodedLen(minLen) || n > phcB64.EncodedLen(maxLen) {
		return nil, fmt.Errorf("%w: %s must be %d to %d bytes", ErrInvalidHash, name, minLen, maxLen)
	}
	for _, c := range []byte(field) {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, fmt.Errorf("%w: %s is not unpadded standard base64", ErrInvalidHash, name)
		}
	}
	b, err := phcB64.DecodeString(field)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not unpadded standard base64: %v", ErrInvalidHash, name, err)
	}
	if len(b) < minLen || len(b) > maxLen {
		return nil, fmt.Errorf("%w: %s must be %d to %d bytes", ErrInvalidHash, name, minLen, maxLen)
	}
	return b, nil
}

// Hash derives an argon2id hash of password with a fresh salt read from rand and
// returns it as a PHC string.
func Hash(password string, p Params, rand io.Reader) (string, error) {
	if err := p.Validate(); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return "", fmt.Errorf("hash password: read salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return PHC{Params: p, Salt: salt, Key: key}.String(), nil
}

// Verify reports whether password matches the PHC string, comparing the derived tag
// in constant time. needsRehash is true when the stored parameters differ from want,
// so the caller can upgrade the hash while it holds the plaintext. A malformed or
// out-of-bounds hash is an error (and no work is done for it).
func Verify(phc, password string, want Params) (ok, needsRehash bool, err error) {
	h, err := ParsePHC(phc)
	if err != nil {
		return false, false, err
	}
	key := argon2.IDKey([]byte(password), h.Salt, h.Params.Time, h.Params.Memory, h.Params.Threads, uint32(len(h.Key)))
	ok = subtle.ConstantTimeCompare(key, h.Key) == 1
	return ok, h.Params != want, nil
}
