package recovery

import (
	"bytes"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/store/bolt"
)

var codeShape = regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$`)

// newStore opens a fresh bbolt store holding one user and returns it with the user id.
func newStore(t *testing.T) (*bolt.Store, string) {
	t.Helper()
	ctx := t.Context()
	st, err := bolt.Open(ctx, filepath.Join(t.TempDir(), "t.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	u, err := st.CreateUser(ctx, store.User{UserName: "alice", Active: true})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	return st, u.ID
}

func TestGenerateIssuesHumanCodesStoredAsDigests(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, uid := newStore(t)
	c := New(st, Options{})
	codes, err := c.Generate(ctx, uid)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if len(codes) != DefaultCount {
		t.Fatalf("got %d codes, want %d", len(codes), DefaultCount)
	}
	seen := map[string]bool{}
	for _, code := range codes {
		if !codeShape.MatchString(code) {
			t.Errorf("code %q is not shaped xxxxx-xxxxx from the alphabet", code)
		}
		if seen[code] {
			t.Errorf("code %q issued twice", code)
		}
		seen[code] = true
	}
	creds, err := st.ListCredentials(ctx, uid)
	if err != nil {
		t.Fatalf("ListCredentials: %v", err)
	}
	if len(creds) != DefaultCount {
		t.Fatalf("stored %d credentials, want %d", len(creds), DefaultCount)
	}
	for _, cr := range creds {
		if cr.Type != store.CredentialRecovery || len(cr.Secret) != 32 {
			t.Errorf("credential %s/%s: secret of %d bytes, want a recovery SHA-256", cr.Type, cr.ID, len(cr.Secret))
		}
		for _, code := range codes {
			if bytes.Contains(cr.Secret, []byte(strings.ReplaceAll(code, "-", ""))) {
				t.Errorf("credential %s holds code %q in clear", cr.ID, code)
			}
		}
	}
	if n, err := c.Remaining(ctx, uid); err != nil || n != DefaultCount {
		t.Fatalf("Remaining = %d, %v; want %d", n, err, DefaultCount)
	}
}

func TestUseIsSingleUse(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, uid := newStore(t)
	c := New(st, Options{Count: 3})
	codes, err := c.Generate(ctx, uid)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	left, err := c.Use(ctx, uid, codes[1])
	if err != nil || left != 2 {
		t.Fatalf("first Use = %d, %v; want 2, nil", left, err)
	}
	if _, err := c.Use(ctx, uid, codes[1]); !errors.Is(err, mfa.ErrInvalid) {
		t.Fatalf("second Use of the same code: err = %v, want mfa.ErrInvalid", err)
	}
	if n, _ := c.Remaining(ctx, uid); n != 2 {
		t.Fatalf("Remaining after a replay = %d, want 2", n)
	}
	for i, code := range []string{codes[0], codes[2]} {
		left, err := c.Use(ctx, uid, code)
		if err != nil || left != 1-i {
			t.Fatalf("Use of code %d = %d, %v; want %d, nil", i, left, err, 1-i)
		}
	}
	if _, err := c.Use(ctx, uid, codes[0]); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("Use with every code spent: err = %v, want mfa.ErrNotEnrolled", err)
	}
}

func TestRegenerateInvalidatesOldSet(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, uid := newStore(t)
	c := New(st, Options{Count: 4})
	old, err := c.Generate(ctx, uid)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if _, err := c.Use(ctx, uid, old[0]); err != nil {
		t.Fatalf("Use: %v", err)
	}
	fresh, err := c.Generate(ctx, uid)
	if err != nil {
		t.Fatalf("second Generate: %v", err)
	}
	if n, _ := c.Remaining(ctx, uid); n != 4 {
		t.Fatalf("Remaining after regenerating = %d, want 4", n)
	}
	for _, code := range old[1:] {
		if _, err := c.Use(ctx, uid, code); !errors.Is(err, mfa.ErrInvalid) {
			t.Errorf("old code %q after regenerating: err = %v, want mfa.ErrInvalid", code, err)
		}
	}
	if left, err := c.Use(ctx, uid, fresh[3]); err != nil || left != 3 {
		t.Fatalf("new code: %d, %v; want 3, nil", left, err)
	}
}

func TestUseNormalizesInput(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, uid := newStore(t)
	// A random source of zero bytes makes every code "00000-00000" (and the ids
	// collide, so Count 1); a source of 0x01 bytes gives "11111-11111".
	cases := []struct {
		name  string
		fill  byte
		typed string
	}{
		{"as shown", 0x00, "00000-00000"},
		{"no dash", 0x00, "0000000000"},
		{"spaces and tabs", 0x00, " 00000 \t00000 "},
		{"letter o for zero", 0x00, "OoOoO-00000"},
		{"letters i and l for one", 0x01, "iIlL1-11111"},
		{"upper case", 0x1f, "ZZZZZ-ZZZZZ"},
		{"extra dashes", 0x1f, "z-z-z-z-z-z-z-z-z-z"},
	}
	for _, tc := range cases {
		c := New(st, Options{Count: 1, Rand: bytes.NewReader(bytes.Repeat([]byte{tc.fill}, codeLen+idBytes))})
		if _, err := c.Generate(ctx, uid); err != nil {
			t.Fatalf("%s: Generate: %v", tc.name, err)
		}
		if _, err := c.Use(ctx, uid, tc.typed); err != nil {
			t.Errorf("%s: Use(%q): %v", tc.name, tc.typed, err)
		}
	}
}

func TestUseRefusesWrongAndMalformedCodes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, uid := newStore(t)
	c := New(st, Options{Count: 1, Rand: bytes.NewReader(bytes.Repeat([]byte{0}, codeLen+idBytes))})
	if _, err := c.Generate(ctx, uid); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	for _, typed := range []string{
		"00000-00001",  // one symbol off
		"00000-0000",   // too short
		"00000-000000", // too long
		"00000-0000u",  // u is not in the alphabet
		"",             // empty
		"00000_00000",  // unknown separator
		strings.Repeat("0", 100),
		"00000-0000\u00d8", // non-ASCII look-alike
	} {
		if _, err := c.Use(ctx, uid, typed); !errors.Is(err, mfa.ErrInvalid) {
			t.Errorf("Use(%q): err = %v, want mfa.ErrInvalid", typed, err)
		}
	}
	if n, _ := c.Remaining(ctx, uid); n != 1 {
		t.Fatalf("Remaining after wrong codes = %d, want 1", n)
	}
}

func TestUseWithoutCodesIsNotEnrolled(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, uid := newStore(t)
	c := New(st, Options{})
	if _, err := c.Use(ctx, uid, "00000-00000"); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("Use without codes: err = %v, want mfa.ErrNotEnrolled", err)
	}
	if n, err := c.Remaining(ctx, uid); err != nil || n != 0 {
		t.Fatalf("Remaining = %d, %v; want 0, nil", n, err)
	}
	if n, err := c.Remaining(ctx, "no-such-user"); err != nil || n != 0 {
		t.Fatalf("Remaining of an unknown user = %d, %v; want 0, nil", n, err)
	}
}

func TestDeleteRemovesEveryCode(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, uid := newStore(t)
	c := New(st, Options{Count: 3})
	codes, err := c.Generate(ctx, uid)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if err := c.Delete(ctx, uid); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if n, _ := c.Remaining(ctx, uid); n != 0 {
		t.Fatalf("Remaining after Delete = %d, want 0", n)
	}
	if _, err := c.Use(ctx, uid, codes[0]); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("Use after Delete: err = %v, want mfa.ErrNotEnrolled", err)
	}
	if err := c.Delete(ctx, uid); err != nil {
		t.Fatalf("Delete with nothing left: %v", err)
	}
}

func TestConcurrentUseOfOneCodeHasOneWinner(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, uid := newStore(t)
	c := New(st, Options{Count: 2})
	codes, err := c.Generate(ctx, uid)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	const racers = 8
	var wg sync.WaitGroup
	errs := make(chan error, racers)
	for range racers {
		wg.Go(func() {
			_, err := c.Use(ctx, uid, codes[0])
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	wins := 0
	for err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, mfa.ErrInvalid):
			t.Errorf("losing Use: err = %v, want mfa.ErrInvalid", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent uses of one code succeeded, want exactly 1", wins)
	}
}

func TestCodeDigestIsBoundToUser(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, uid := newStore(t)
	bob, err := st.CreateUser(ctx, store.User{UserName: "bob", Active: true})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	c := New(st, Options{Count: 1})
	codes, err := c.Generate(ctx, uid)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	// Copy alice's stored digest onto bob: it must not make her code valid for him.
	creds, _ := st.ListCredentials(ctx, uid)
	cr := creds[0]
	cr.UserID, cr.Version = bob.ID, 0
	if _, err := st.PutCredential(ctx, cr); err != nil {
		t.Fatalf("PutCredential: %v", err)
	}
	if _, err := c.Use(ctx, bob.ID, codes[0]); !errors.Is(err, mfa.ErrInvalid) {
		t.Fatalf("alice's code on bob's copied digest: err = %v, want mfa.ErrInvalid", err)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"00000-00000", "OoOoO-00000", " iIlL1 11111", "z-z-z-z-z-z-z-z-z-z", "", "\xff\xfe", "00000-0000u"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		norm, ok := normalize(s)
		if !ok {
			return
		}
		if len(norm) != codeLen {
			t.Fatalf("normalize(%q) = %q: want %d symbols", s, norm, codeLen)
		}
		for i := 0; i < len(norm); i++ {
			if strings.IndexByte(alphabet, norm[i]) < 0 {
				t.Fatalf("normalize(%q) = %q: symbol %q outside the alphabet", s, norm, norm[i])
			}
		}
		if again, ok := normalize(norm); !ok || again != norm {
			t.Fatalf("normalize is not idempotent on %q: %q, %v", norm, again, ok)
		}
	})
}
