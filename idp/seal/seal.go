package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// KeySize is the length of the master key in bytes (AES-256).
const KeySize = 32

// ErrUnseal is returned by Open for every input that does not decrypt: wrong key, wrong
// additional data, a flipped bit, a truncated value or an unknown format version. The
// causes are deliberately not told apart: a caller has nothing to act on beyond "this
// value is not ours or was tampered with".
var ErrUnseal = errors.New("cannot open sealed data (wrong key, wrong record or tampered)")

// ErrKeySize is returned by New for a key that is not exactly KeySize bytes.
var ErrKeySize = errors.New("seal key must be 32 bytes")

// Format version 1: version byte || 12-byte random nonce || AES-256-GCM ciphertext and tag.
const (
	version1  = 0x01
	nonceSize = 12
	tagSize   = 16
	overhead  = 1 + nonceSize + tagSize
)

// HKDF info strings. The AEAD key and every derived key come from the master key
// through HKDF with distinct info (RFC 5869 §3.2), so no label passed to Derive can
// reproduce the sealing key, and the master key itself is never used directly.
const (
	infoSeal   = "portcullis seal v1 aes-256-gcm"
	infoDerive = "portcullis seal v1 derive "
)

// Sealer encrypts and decrypts secrets at rest. It is safe for concurrent use.
type Sealer struct {
	aead   cipher.AEAD
	master [KeySize]byte
}

// New returns a Sealer for a 32-byte master key. The key is copied.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("new sealer: got %d bytes: %w", len(key), ErrKeySize)
	}
	s := &Sealer{}
	copy(s.master[:], key)
	sealKey, err := hkdf.Key(sha256.New, s.master[:], nil, infoSeal, KeySize)
	if err != nil {
		return nil, fmt.Errorf("new sealer: derive sealing key: %w", err)
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, fmt.Errorf("new sealer: aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("new sealer: gcm: %w", err)
	}
	s.aead = aead
	return s, nil
}

// Seal encrypts plaintext and binds it to aad, which must name the record the value is
// stored in (e.g. "signing_keys/" + kid). The result is version || nonce || ciphertext.
//
// Nonces are 96 random bits. NIST SP 800-38D §8.3 bounds random nonces to 2^32
// messages per key, far above what secrets at rest of one deployment will ever use.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, 1+nonceSize, overhead+len(plaintext))
	out[0] = version1
	if _, err := io.ReadFull(rand.Reader, out[1:1+nonceSize]); err != nil {
		return nil, fmt.Errorf("seal: read nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:1+nonceSize], plaintext, additionalData(out[0], aad)), nil
}

// Open decrypts a value produced by Seal with the same key and aad. Any failure is
// ErrUnseal.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < overhead {
		return nil, fmt.Errorf("open: %d bytes is too short: %w", len(sealed), ErrUnseal)
	}
	if sealed[0] != version1 {
		return nil, fmt.Errorf("open: unknown format version %d: %w", sealed[0], ErrUnseal)
	}
	nonce := sealed[1 : 1+nonceSize]
	pt, err := s.aead.Open(nil, nonce, sealed[1+nonceSize:], additionalData(sealed[0], aad))
	if err != nil {
		return nil, fmt.Errorf("open: %w", ErrUnseal)
	}
	return pt, nil
}

// additionalData prefixes the caller's aad with the format version, so that the version
// byte is authenticated too and cannot be rewritten to steer a future decoder.
func additionalData(version byte, aad []byte) []byte {
	ad := make([]byte, 0, 1+len(aad))
	ad = append(ad, version)
	return append(ad, aad...)
}

// Derive returns a 32-byte key for another purpose, named by label (for example
// "oidc/code-encryption"). It is deterministic for a given master key and label, and
// distinct labels yield independent keys (HKDF-SHA256, RFC 5869).
func (s *Sealer) Derive(label string) [32]byte {
	k, err := hkdf.Key(sha256.New, s.master[:], nil, infoDerive+label, 32)
	if err != nil {
		// Only reachable when the requested length exceeds 255 hash blocks.
		panic("seal: derive: " + err.Error())
	}
	var out [32]byte
	copy(out[:], k)
	return out
}

const redacted = "seal.Sealer{REDACTED}"

// LogValue implements slog.LogValuer so that logging a Sealer never prints its key.
func (Sealer) LogValue() slog.Value { return slog.StringValue(redacted) }

// String implements fmt.Stringer with a redacted value.
func (Sealer) String() string { return redacted }

// GoString implements fmt.GoStringer with a redacted value.
func (Sealer) GoString() string { return redacted }

// Format implements fmt.Formatter so that no verb (%v, %+v, %x, %d ...) reaches the
// key bytes.
func (Sealer) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }
