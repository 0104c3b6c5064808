package directory

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

// cheapParams keep tests fast; one test below runs DefaultParams.
var cheapParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// validPHC is a canonical hash of "correct horse" with cheapParams (fixed salt).
func validPHC(t testing.TB) string {
	t.Helper()
	phc, err := Hash("correct horse", cheapParams, bytes.NewReader(bytes.Repeat([]byte{7}, 16)))
	if err != nil {
		t.Fatal(err)
	}
	return phc
}

func TestHashVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	phc, err := Hash("correct horse", cheapParams, rand.Reader)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("Hash = %q, want the PHC argon2id prefix", phc)
	}
	tests := []struct {
		name       string
		password   string
		want       Params
		wantOK     bool
		wantRehash bool
	}{
		{"correct", "correct horse", cheapParams, true, false},
		{"wrong", "correct horsf", cheapParams, false, false},
		{"empty", "", cheapParams, false, false},
		{"case matters", "Correct horse", cheapParams, false, false},
		{"rehash on memory change", "correct horse", Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, true, true},
		{"rehash on key length change", "correct horse", Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 64}, true, true},
		{"rehash reported on wrong password too", "nope", DefaultParams(), false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := Verify(phc, tc.password, tc.want)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if ok != tc.wantOK || rehash != tc.wantRehash {
				t.Errorf("Verify = (%v, %v), want (%v, %v)", ok, rehash, tc.wantOK, tc.wantRehash)
			}
		})
	}
}

func TestHashUsesFreshSalt(t *testing.T) {
	t.Parallel()
	a, err := Hash("same", cheapParams, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Hash("same", cheapParams, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two hashes of the same password are identical: salt not random")
	}
}

func TestHashErrors(t *testing.T) {
	t.Parallel()
	if _, err := Hash("x", cheapParams, iotest.ErrReader(errors.New("no entropy"))); err == nil {
		t.Error("Hash with a failing rand reader succeeded")
	}
	bad := cheapParams
	bad.Memory = MaxMemoryKiB + 1
	if _, err := Hash("x", bad, rand.Reader); !errors.Is(err, ErrInvalidHash) {
		t.Errorf("Hash with m above the bound = %v, want ErrInvalidHash", err)
	}
}

// TestDefaultParamsOWASP is the one test at real cost: the defaults are OWASP's
// first argon2id setting and produce the documented PHC string.
func TestDefaultParamsOWASP(t *testing.T) {
	t.Parallel()
	p := DefaultParams()
	if p != (Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}) {
		t.Fatalf("DefaultParams() = %+v", p)
	}
	phc, err := Hash("Tr0ub4dor&3 but longer", p, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParsePHC(phc)
	if err != nil {
		t.Fatalf("ParsePHC(%q): %v", phc, err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$") || len(h.Salt) != 16 || len(h.Key) != 32 {
		t.Fatalf("Hash = %q", phc)
	}
	if ok, rehash, err := Verify(phc, "Tr0ub4dor&3 but longer", p); !ok || rehash || err != nil {
		t.Fatalf("Verify = (%v, %v, %v), want (true, false, nil)", ok, rehash, err)
	}
}

// TestVerifyReferenceVector checks against the argon2id vector of the reference
// implementation's test suite (phc-winner-argon2 src/test.c, version 0x13: t=2,
// m=2^16 KiB, p=1, password "password", salt "somesalt"), so our PHC encoding and
// parameter plumbing agree with an independent implementation.
func TestVerifyReferenceVector(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("64 MiB argon2id vector skipped in -short mode")
	}
	const ref = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	want := Params{Memory: 65536, Time: 2, Threads: 1, SaltLen: 8, KeyLen: 32}
	ok, rehash, err := Verify(ref, "password", want)
	if !ok || rehash || err != nil {
		t.Fatalf("Verify(reference) = (%v, %v, %v), want (true, false, nil)", ok, rehash, err)
	}
	if ok, _, _ := Verify(ref, "passwore", want); ok {
		t.Fatal("Verify(reference) accepted a wrong password")
	}
}

func TestParsePHCAcceptsCanonical(t *testing.T) {
	t.Parallel()
	s := validPHC(t)
	h, err := ParsePHC(s)
	if err != nil {
		t.Fatalf("ParsePHC(%q): %v", s, err)
	}
	if h.Params != cheapParams {
		t.Errorf("Params = %+v, want %+v", h.Params, cheapParams)
	}
	if !bytes.Equal(h.Salt, bytes.Repeat([]byte{7}, 16)) {
		t.Errorf("Salt = %x", h.Salt)
	}
	if got := h.String(); got != s {
		t.Errorf("String() = %q, want %q", got, s)
	}
}

// phcCases are the table for TestParsePHC and the seed corpus for FuzzParsePHC.
var phcCases = []struct {
	name    string
	in      string
	wantErr bool
}{
	{"canonical", "$argon2id$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), false},
	{"owasp", "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$" + strings.Repeat("A", 43), false},
	{"rfc9106 second option", "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$" + strings.Repeat("A", 43), false},
	{"empty", "", true},
	{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", true},
	{"version 16", "$argon2id$v=16$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"version missing", "$argon2id$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"params reordered", "$argon2id$v=19$t=1,m=64,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"extra param", "$argon2id$v=19$m=64,t=1,p=1,keyid=x$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"hostile memory", "$argon2id$v=19$m=4294967295,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"memory overflow", "$argon2id$v=19$m=99999999999,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"memory just above bound", "$argon2id$v=19$m=65537,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"cost product above bound", "$argon2id$v=19$m=65536,t=5,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"memory below 8p", "$argon2id$v=19$m=15,t=1,p=2$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"time zero", "$argon2id$v=19$m=64,t=0,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"time huge", "$argon2id$v=19$m=64,t=4294967295,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"threads zero", "$argon2id$v=19$m=64,t=1,p=0$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"threads 256", "$argon2id$v=19$m=4096,t=1,p=256$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"leading zero", "$argon2id$v=19$m=064,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"plus sign", "$argon2id$v=19$m=+64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"negative", "$argon2id$v=19$m=-64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"empty value", "$argon2id$v=19$m=,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"huge salt", "$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 1<<16) + "$" + strings.Repeat("A", 43), true},
	{"salt above bound", "$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 88) + "$" + strings.Repeat("A", 43), true},
	{"salt too short", "$argon2id$v=19$m=64,t=1,p=1$AAAA$" + strings.Repeat("A", 43), true},
	{"hash too short", "$argon2id$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$AAAA", true},
	{"hash too long", "$argon2id$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 90), true},
	{"padded base64", "$argon2id$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw==$" + strings.Repeat("A", 43), true},
	{"url base64", "$argon2id$v=19$m=64,t=1,p=1$Bwc_BwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"newline in salt", "$argon2id$v=19$m=64,t=1,p=1$BwcHBwcHBwcH\nBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"non-zero trailing bits", "$argon2id$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBx$" + strings.Repeat("A", 43), true},
	{"impossible length", "$argon2id$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHB$" + strings.Repeat("A", 43), true},
	{"trailing field", "$argon2id$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43) + "$", true},
	{"no leading dollar", "argon2id$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43), true},
	{"trailing space", "$argon2id$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43) + " ", true},
}

func TestParsePHC(t *testing.T) {
	t.Parallel()
	for _, tc := range phcCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, err := ParsePHC(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidHash) {
					t.Fatalf("ParsePHC = (%+v, %v), want ErrInvalidHash", h.Params, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePHC: %v", err)
			}
			if got := h.String(); got != tc.in {
				t.Errorf("String() = %q, want %q", got, tc.in)
			}
		})
	}
}

func TestVerifyRefusesHostileHashWithoutWork(t *testing.T) {
	t.Parallel()
	hostile := "$argon2id$v=19$m=4294967295,t=4294967295,p=255$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43)
	ok, _, err := Verify(hostile, "pw", cheapParams)
	if ok || !errors.Is(err, ErrInvalidHash) {
		t.Fatalf("Verify(hostile) = (%v, %v), want (false, ErrInvalidHash)", ok, err)
	}
}

func FuzzParsePHC(f *testing.F) {
	for _, tc := range phcCases {
		if len(tc.in) <= 1024 {
			f.Add(tc.in)
		}
	}
	f.Add(validPHC(f))
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParsePHC(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidHash) {
				t.Fatalf("ParsePHC error %v does not wrap ErrInvalidHash", err)
			}
			return
		}
		// Accepted input is canonical and within bounds.
		if got := h.String(); got != s {
			t.Fatalf("accepted non-canonical %q (canonical %q)", s, got)
		}
		if err := h.Params.Validate(); err != nil {
			t.Fatalf("accepted out-of-bounds params %+v: %v", h.Params, err)
		}
		if int(h.Params.SaltLen) != len(h.Salt) || int(h.Params.KeyLen) != len(h.Key) {
			t.Fatalf("lengths disagree: %+v salt %d key %d", h.Params, len(h.Salt), len(h.Key))
		}
	})
}

// BenchmarkArgon2idOWASP measures one Hash plus one Verify at DefaultParams: the CPU
// cost of setting a password and of one sign-in attempt.
func BenchmarkArgon2idOWASP(b *testing.B) {
	p := DefaultParams()
	for b.Loop() {
		phc, err := Hash("correct horse battery staple", p, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		if ok, _, err := Verify(phc, "correct horse battery staple", p); !ok || err != nil {
			b.Fatalf("Verify = (%v, %v)", ok, err)
		}
	}
}
