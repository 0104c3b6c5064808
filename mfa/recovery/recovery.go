package recovery

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/store"
)

// DefaultCount is how many codes a set holds unless Options.Count says otherwise.
const DefaultCount = 10

// maxCount bounds Options.Count: every Use compares against the whole set.
const maxCount = 64

// Code shape: codeLen symbols of 5 bits each (50 bits), shown as two groups of five.
const (
	codeLen   = 10
	groupLen  = 5
	idBytes   = 16
	maxInput  = 64 // longer input cannot be a code, however it is spaced
	hashLabel = "portcullis recovery code v1\x00"
)

// alphabet is Crockford's base32 in lower case: no i, l, o or u, so a code read off
// paper cannot be mistaken for another (normalize maps the look-alikes back). It has
// exactly 32 symbols, so a random byte masked to 5 bits picks one without bias.
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// Store is the part of the store this package needs.
type Store interface {
	store.Credentials
	// Atomic runs fn in one write transaction (store.Store.Atomic).
	Atomic(ctx context.Context, fn func(tx store.Tx) error) error
}

// Options configures Codes. Zero fields take defaults.
type Options struct {
	// Count is how many codes Generate issues (DefaultCount; at most 64).
	Count int
	Now   func() time.Time
	Rand  io.Reader
}

// Codes issues and checks recovery codes. It is safe for concurrent use.
type Codes struct {
	st   Store
	opts Options
}

// New returns Codes backed by st.
func New(st Store, opts Options) *Codes {
	if opts.Count <= 0 {
		opts.Count = DefaultCount
	}
	if opts.Count > maxCount {
		opts.Count = maxCount
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	return &Codes{st: st, opts: opts}
}

// Generate issues a new set of codes for userID, formatted for people ("xxxxx-xxxxx"),
// and deletes the previous set in the same transaction. The codes are returned once
// and never stored in clear.
func (c *Codes) Generate(ctx context.Context, userID string) ([]string, error) {
	codes := make([]string, c.opts.Count)
	creds := make([]store.Credential, c.opts.Count)
	buf := make([]byte, codeLen+idBytes)
	for i := range codes {
		if _, err := io.ReadFull(c.opts.Rand, buf); err != nil {
			return nil, fmt.Errorf("generate recovery codes for user %q: read random: %w", userID, err)
		}
		var code [codeLen]byte
		for j, b := range buf[:codeLen] {
			code[j] = alphabet[b&31]
		}
		codes[i] = string(code[:groupLen]) + "-" + string(code[groupLen:])
		creds[i] = store.Credential{
			UserID: userID,
			Type:   store.CredentialRecovery,
			ID:     hex.EncodeToString(buf[codeLen:]),
			Secret: digest(userID, string(code[:])),
		}
	}
	// Everything random is drawn above: Atomic may run fn more than once.
	err := c.st.Atomic(ctx, func(tx store.Tx) error {
		old, err := listCodes(ctx, tx, userID)
		if err != nil {
			return err
		}
		for _, o := range old {
			if err := tx.DeleteCredential(ctx, userID, store.CredentialRecovery, o.ID); err != nil {
				return err
			}
		}
		for _, cr := range creds {
			if _, err := tx.PutCredential(ctx, cr); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("generate recovery codes for user %q: %w", userID, err)
	}
	return codes, nil
}

// Use checks code against userID's unused codes and, when one matches, deletes it and
// returns how many are left. Input is normalized first (case, spaces, dashes, and the
// look-alikes o/i/l), so a code read aloud or retyped from paper still matches.
//
// A used code is gone: presenting it again fails with mfa.ErrInvalid, exactly like a
// code that never existed. Telling the two apart (mfa.ErrReplay) would mean keeping
// digests of spent codes for no other purpose. A user with no codes at all gets
// mfa.ErrNotEnrolled.
func (c *Codes) Use(ctx context.Context, userID, code string) (remaining int, err error) {
	norm, ok := normalize(code)
	if !ok {
		return 0, fmt.Errorf("use recovery code of user %q: not shaped like a code: %w", userID, mfa.ErrInvalid)
	}
	want := digest(userID, norm)
	err = c.st.Atomic(ctx, func(tx store.Tx) error {
		remaining = 0
		codes, err := listCodes(ctx, tx, userID)
		if err != nil {
			return err
		}
		if len(codes) == 0 {
			return mfa.ErrNotEnrolled
		}
		// Compare against every code, without stopping at the first match, so the time
		// taken does not tell which stored code (if any) was close.
		match := -1
		for i, cr := range codes {
			if subtle.ConstantTimeCompare(cr.Secret, want) == 1 {
				match = i
			}
		}
		if match < 0 {
			return mfa.ErrInvalid
		}
		// Inside the write transaction: two concurrent uses of one code serialize,
		// and the second no longer finds it.
		if err := tx.DeleteCredential(ctx, userID, store.CredentialRecovery, codes[match].ID); err != nil {
			return err
		}
		remaining = len(codes) - 1
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("use recovery code of user %q: %w", userID, err)
	}
	return remaining, nil
}

// Remaining returns how many unused codes userID has.
func (c *Codes) Remaining(ctx context.Context, userID string) (int, error) {
	codes, err := listCodes(ctx, c.st, userID)
	if err != nil {
		return 0, fmt.Errorf("count recovery codes of user %q: %w", userID, err)
	}
	return len(codes), nil
}

// Delete removes every code of userID (MFA reset, or the user turned MFA off). A user
// without codes is not an error.
func (c *Codes) Delete(ctx context.Context, userID string) error {
	err := c.st.Atomic(ctx, func(tx store.Tx) error {
		codes, err := listCodes(ctx, tx, userID)
		if err != nil {
			return err
		}
		for _, cr := range codes {
			if err := tx.DeleteCredential(ctx, userID, store.CredentialRecovery, cr.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete recovery codes of user %q: %w", userID, err)
	}
	return nil
}

// listCodes returns userID's recovery-code credentials.
func listCodes(ctx context.Context, st store.Credentials, userID string) ([]store.Credential, error) {
	all, err := st.ListCredentials(ctx, userID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	var out []store.Credential
	for _, cr := range all {
		if cr.Type == store.CredentialRecovery {
			out = append(out, cr)
		}
	}
	return out, nil
}

// normalize reduces what a person typed to the canonical code: lower case, without
// spaces, tabs or dashes, with o read as 0 and i, l as 1 (Crockford's decoding rules).
// It reports false for anything that cannot be a code.
func normalize(s string) (string, bool) {
	if len(s) > maxInput {
		return "", false
	}
	out := make([]byte, 0, codeLen)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		switch ch {
		case ' ', '\t', '-':
			continue
		case 'o':
			ch = '0'
		case 'i', 'l':
			ch = '1'
		}
		if strings.IndexByte(alphabet, ch) < 0 || len(out) == codeLen {
			return "", false
		}
		out = append(out, ch)
	}
	if len(out) != codeLen {
		return "", false
	}
	return string(out), true
}

// digest is the stored form of a normalized code.
//
// A plain SHA-256 is enough here, where a password needs argon2id: a slow hash exists
// to make guessing a low-entropy, human-chosen secret expensive, and these codes are
// 50 uniformly random bits each. Online, the regulator allows a handful of guesses
// against 2^50; offline, someone holding a copy of the store must still search that
// space per user (the user id is hashed in, so no table serves two users) and then
// still needs the user's password, which a recovery code does not replace. A slow
// hash would instead make every sign-in with a recovery code run it once per stored
// code, a cost an attacker could trigger at will.
func digest(userID, norm string) []byte {
	h := sha256.New()
	h.Write([]byte(hashLabel))
	h.Write([]byte(userID))
	h.Write([]byte{0})
	h.Write([]byte(norm))
	return h.Sum(nil)
}
