package directory

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPolicyCheck(t *testing.T) {
	t.Parallel()
	p := Policy{
		MinLength:    8,
		MaxLength:    64,
		Common:       NewCommonList([]string{"password123", "Sunshine!"}),
		ContextWords: []string{"portcullis", "ab"},
	}
	tests := []struct {
		name       string
		password   string
		userName   string
		wantReason string // substring; "" = accepted
	}{
		{"long enough", "river otter lamp", "alice", ""},
		{"exactly min", "abcdefgh", "alice", ""},
		{"short", "abc1234", "alice", "at least 8"},
		{"empty", "", "alice", "at least 8"},
		{"exactly max", strings.Repeat("x", 64), "alice", ""},
		{"long", strings.Repeat("x", 65), "alice", "at most 64"},
		{"megabyte", strings.Repeat("x", 1<<20), "alice", "at most 64"},
		{"common", "password123", "alice", "too common"},
		{"common any case", "PassWord123", "alice", "too common"},
		{"common list normalised", "sunshine!", "alice", "too common"},
		{"common with suffix is fine", "password123 but mine", "alice", ""},
		{"equals user name", "alexander", "Alexander", "user name"},
		{"contains user name", "hello-ALICE-2024", "alice", "user name"},
		{"short user name ignored", "bob-is-my-name", "bob", ""},
		{"context word", "MyPortcullis!", "alice", "service"},
		{"short context word ignored", "abababab12", "alice", ""},
		// NFKC: U+FB01 (fi ligature) is one code point that normalises to "fi".
		{"ligature counts after nfkc", "\ufb01\ufb01\ufb01\ufb01", "alice", ""},
		// Four 3-byte characters: 12 bytes but 4 code points.
		{"unicode counted in code points", "日本語で", "alice", "at least 8"},
		{"unicode long enough", "日本語のパスワード", "alice", ""},
		{"fullwidth user name matched after nfkc", "ｈｅｌｌｏａｌｉｃｅ", "alice", "user name"},
		{"emoji", "🦊🦊🦊🦊🦊🦊🦊🦊", "alice", ""},
		{"no composition rules", "alllowercaseletters", "alice", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := p.Check(tc.password, tc.userName)
			if tc.wantReason == "" {
				if err != nil {
					t.Fatalf("Check = %v, want accepted", err)
				}
				return
			}
			var pe *PolicyError
			if !errors.As(err, &pe) || !errors.Is(err, ErrPasswordPolicy) {
				t.Fatalf("Check = %v, want *PolicyError", err)
			}
			if pe.Field != "password" || !strings.Contains(pe.Reason, tc.wantReason) {
				t.Errorf("Check = %+v, want field password and reason containing %q", pe, tc.wantReason)
			}
			if tc.password != "" && strings.Contains(err.Error(), tc.password) {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}
}

func TestBundledCommonList(t *testing.T) {
	t.Parallel()
	c := LoadCommon()
	if c != LoadCommon() {
		t.Error("LoadCommon parsed the list twice")
	}
	if c.Len() < 1000 {
		t.Fatalf("bundled list has %d entries, want at least 1000", c.Len())
	}
	for w := range c.set {
		if utf8.RuneCountInString(w) < 8 || w != strings.ToLower(w) || strings.HasPrefix(w, "#") {
			t.Errorf("entry %q: want lowercase, at least 8 characters, no comment", w)
		}
	}
	for _, pw := range []string{"password", "123456789", "qwerty123", "iloveyou", "Password1!", "1q2w3e4r", "sunshine2024"} {
		if !c.Contains(pw) {
			t.Errorf("bundled list lacks %q", pw)
		}
	}
	if c.Contains("river otter lamp") {
		t.Error("bundled list contains an uncommon passphrase")
	}
}

func TestDefaultPolicy(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	if err := p.Check("qwerty123", "alice"); err == nil {
		t.Error("default policy accepts qwerty123")
	}
	if err := p.Check("tangerine kettle orbit", "alice"); err != nil {
		t.Errorf("default policy refuses a good passphrase: %v", err)
	}
	if err := p.Check("portcullis rocks", "alice"); err == nil {
		t.Error("default policy accepts the product name")
	}
	var nilList *CommonList
	if nilList.Contains("password") || nilList.Len() != 0 {
		t.Error("nil CommonList is not empty")
	}
}

func FuzzPolicyCheck(f *testing.F) {
	for _, s := range []string{"", "abc", "password123", "ｈｅｌｌｏａｌｉｃｅ", "\ufb01\ufb01", "cafe\u0301", "\xff\xfe"} {
		f.Add(s, "alice")
	}
	p := DefaultPolicy()
	f.Fuzz(func(t *testing.T, password, userName string) {
		err := p.Check(password, userName)
		if err == nil {
			return
		}
		var pe *PolicyError
		if !errors.As(err, &pe) || pe.Field != "password" || pe.Reason == "" {
			t.Fatalf("Check = %#v, want a *PolicyError with a reason", err)
		}
		if len(password) >= 4 && strings.Contains(pe.Reason, password) {
			t.Fatalf("reason %q repeats the password", pe.Reason)
		}
	})
}
