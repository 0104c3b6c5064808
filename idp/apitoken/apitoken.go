package apitoken

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

// Prefix starts every plain token so that secret scanners can spot a leaked one.
const Prefix = "pct_"

// secretBytes is the entropy of a token: 256 bits.
const secretBytes = 32

// plainLen is the length of a well-formed plain token.
var plainLen = len(Prefix) + base64.RawURLEncoding.EncodedLen(secretBytes)

// Bootstrap token parameters.
const (
	BootstrapName     = "bootstrap"
	BootstrapRole     = "admin"
	BootstrapLifetime = 24 * time.Hour
)

// Errors.
var (
	// ErrInvalid: the name, roles or expiry of a new token are unusable.
	ErrInvalid = errors.New("invalid api token")
	// ErrMalformed: a presented string is not shaped like a token this package minted.
	ErrMalformed = errors.New("malformed api token")
)

// New mints a token. It returns the plain form (to show once) and the record to store,
// which carries only the digest. expires must be after now.
func New(rand io.Reader, name string, roles []string, now, expires time.Time) (plain string, t store.APIToken, err error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", store.APIToken{}, fmt.Errorf("%w: name: must not be empty", ErrInvalid)
	case len(name) > 128:
		return "", store.APIToken{}, fmt.Errorf("%w: name: must be at most 128 characters", ErrInvalid)
	case len(roles) == 0:
		return "", store.APIToken{}, fmt.Errorf("%w: roles: must name at least one role", ErrInvalid)
	case !expires.After(now):
		return "", store.APIToken{}, fmt.Errorf("%w: expires_at: must be after the creation time", ErrInvalid)
	}
	for i, r := range roles {
		if r == "" || strings.ContainsAny(r, " \t\r\n") {
			return "", store.APIToken{}, fmt.Errorf("%w: roles[%d]: must be a non-empty word", ErrInvalid, i)
		}
	}
	buf := make([]byte, secretBytes+16)
	if _, err := io.ReadFull(rand, buf); err != nil {
		return "", store.APIToken{}, fmt.Errorf("read random for api token: %w", err)
	}
	plain = Prefix + base64.RawURLEncoding.EncodeToString(buf[:secretBytes])
	t = store.APIToken{
		ID:        hex.EncodeToString(buf[secretBytes:]),
		Name:      name,
		Digest:    Digest(plain),
		Roles:     append([]string(nil), roles...),
		CreatedAt: now.UTC(),
		ExpiresAt: expires.UTC(),
	}
	return plain, t, nil
}

// Digest is the stored form of a plain token: its SHA-256.
func Digest(plain string) []byte {
	d := sha256.Sum256([]byte(plain))
	return d[:]
}

// WellFormed reports whether s has the shape of a minted token (prefix, length,
// alphabet). It lets callers refuse garbage before touching the store.
func WellFormed(s string) error {
	if len(s) != plainLen || !strings.HasPrefix(s, Prefix) {
		return ErrMalformed
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(s[len(Prefix):]); err != nil {
		return ErrMalformed
	}
	return nil
}

// Usable reports whether t may authenticate a request at now.
func Usable(t store.APIToken, now time.Time) bool {
	if t.Revoked {
		return false
	}
	return t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt)
}

// HasRole reports whether t carries role.
func HasRole(t store.APIToken, role string) bool {
	for _, r := range t.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// BootstrapStore is what Bootstrap needs.
type BootstrapStore interface {
	store.Users
	store.APITokens
}

// Bootstrap gives a fresh installation its first way in. On a store with no users and no
// API tokens it mints an admin token named "bootstrap" that expires after 24 hours,
// writes the plain token to file (mode 0600, refusing to overwrite; the parent directory
// is created 0700 when missing) and returns created=true. Otherwise it does nothing.
//
// The file is written before the token is stored, so a token nobody can read never
// exists; if storing fails, the file is removed again.
func Bootstrap(ctx context.Context, st BootstrapStore, file string, now time.Time, rand io.Reader) (created bool, err error) {
	users, err := st.ListUsers(ctx)
	if err != nil {
		return false, fmt.Errorf("bootstrap: list users: %w", err)
	}
	tokens, err := st.ListAPITokens(ctx)
	if err != nil {
		return false, fmt.Errorf("bootstrap: list api tokens: %w", err)
	}
	if len(users) > 0 || len(tokens) > 0 {
		return false, nil
	}
	if file == "" {
		return false, fmt.Errorf("bootstrap: no token file configured")
	}
	plain, tok, err := New(rand, BootstrapName, []string{BootstrapRole}, now, now.Add(BootstrapLifetime))
	if err != nil {
		return false, fmt.Errorf("bootstrap: %w", err)
	}
	if err := writeSecretFile(file, plain+"\n"); err != nil {
		return false, fmt.Errorf("bootstrap: %w", err)
	}
	if _, err := st.CreateAPIToken(ctx, tok); err != nil {
		_ = os.Remove(file)
		return false, fmt.Errorf("bootstrap: store api token: %w", err)
	}
	return true, nil
}

// writeSecretFile creates file exclusively with mode 0600 and writes content.
func writeSecretFile(file, content string) error {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create token directory %s: %w", dir, err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("token file %s already exists; remove it (after revoking the token it holds) and restart: %w", file, err)
		}
		return fmt.Errorf("create token file %s: %w", file, err)
	}
	_, werr := f.WriteString(content)
	if werr == nil {
		werr = f.Sync()
	}
	cerr := f.Close()
	if werr != nil || cerr != nil {
		_ = os.Remove(file)
		return fmt.Errorf("write token file %s: %w", file, errors.Join(werr, cerr))
	}
	return nil
}
