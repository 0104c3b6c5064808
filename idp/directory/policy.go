package directory

import (
	"bufio"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

//go:generate go run gen_common.go

//go:embed common_passwords.txt
var commonPasswordsTxt string

// ErrPasswordPolicy is wrapped by every *PolicyError.
var ErrPasswordPolicy = errors.New("password policy")

// PolicyError says why a password was refused. Reason is written for the person
// choosing the password and never contains the password.
type PolicyError struct {
	Field  string
	Reason string
}

func (e *PolicyError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap lets errors.Is(err, ErrPasswordPolicy) match.
func (e *PolicyError) Unwrap() error { return ErrPasswordPolicy }

// Length bounds. NIST SP 800-63B-4 §3.1.1.2: at least 15 characters when the password
// is the only factor, at least 8 when it is one of several; permit at least 64.
const (
	DefaultMinLength = 8
	DefaultMaxLength = 256
	// maxPasswordBytes bounds the raw input before normalisation, so a megabyte paste
	// costs nothing. It is far above DefaultMaxLength code points in any script.
	maxPasswordBytes = 4096
	// minNameLen: shorter user names match too many passwords by accident.
	minNameLen = 4
)

// CommonList is an immutable set of lowercase, NFKC-normalised passwords.
type CommonList struct {
	set map[string]struct{}
}

// NewCommonList builds a list from words (normalised and lowercased here).
func NewCommonList(words []string) *CommonList {
	c := &CommonList{set: make(map[string]struct{}, len(words))}
	for _, w := range words {
		if w = normalizeFold(w); w != "" {
			c.set[w] = struct{}{}
		}
	}
	return c
}

// Contains reports whether password (in any case) is on the list.
func (c *CommonList) Contains(password string) bool {
	if c == nil {
		return false
	}
	_, ok := c.set[normalizeFold(password)]
	return ok
}

// Len is the number of entries.
func (c *CommonList) Len() int {
	if c == nil {
		return 0
	}
	return len(c.set)
}

// LoadCommon returns the bundled common-password list, parsed once per process.
var LoadCommon = sync.OnceValue(func() *CommonList {
	var words []string
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsTxt))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words = append(words, line)
	}
	return NewCommonList(words)
})

// Policy is a password-choice policy following NIST SP 800-63B-4 §3.1.1.2: length
// limits, a blocklist of common passwords and context-specific words, and no
// composition rules (they make passwords harder to remember, not harder to guess).
type Policy struct {
	MinLength int // in Unicode code points after NFKC normalisation
	MaxLength int
	// Common, when non-nil, refuses passwords on the list.
	Common *CommonList
	// ContextWords are service-specific words a password must not contain (for
	// example the product or company name); entries shorter than 4 are ignored.
	ContextWords []string
}

// DefaultPolicy returns the policy used when none is configured: 8 to 256 code
// points, the bundled common list and the product name as a context word. Operators
// without a required second factor should raise MinLength to 15 (SP 800-63B-4).
func DefaultPolicy() Policy {
	return Policy{
		MinLength:    DefaultMinLength,
		MaxLength:    DefaultMaxLength,
		Common:       LoadCommon(),
		ContextWords: []string{"portcullis"},
	}
}

// Check returns a *PolicyError when password may not be chosen by userName.
// Length is counted in code points after NFKC normalisation (SP 800-63B-4 §3.1.1.2
// asks for normalisation and counts each code point as one character), not bytes.
func (p Policy) Check(password, userName string) error {
	if len(password) > maxPasswordBytes {
		limit := p.MaxLength
		if limit <= 0 || limit > maxPasswordBytes {
			limit = maxPasswordBytes
		}
		return policyErr("must be at most %d characters", limit)
	}
	pw := norm.NFKC.String(password)
	n := utf8.RuneCountInString(pw)
	if n < p.MinLength {
		return policyErr("must be at least %d characters", p.MinLength)
	}
	if p.MaxLength > 0 && n > p.MaxLength {
		return policyErr("must be at most %d characters", p.MaxLength)
	}
	folded := strings.ToLower(pw)
	if name := normalizeFold(userName); utf8.RuneCountInString(name) >= minNameLen && strings.Contains(folded, name) {
		return policyErr("must not contain the user name")
	}
	for _, w := range p.ContextWords {
		if w = normalizeFold(w); utf8.RuneCountInString(w) >= minNameLen && strings.Contains(folded, w) {
			return policyErr("must not contain the name of this service")
		}
	}
	if p.Common.Contains(pw) {
		return policyErr("is too common: it appears in lists of frequently used passwords")
	}
	return nil
}

func policyErr(format string, args ...any) *PolicyError {
	return &PolicyError{Field: "password", Reason: fmt.Sprintf(format, args...)}
}

// normalizeFold is the comparison form for blocklists: NFKC, then lowercase.
func normalizeFold(s string) string {
	return strings.ToLower(norm.NFKC.String(s))
}
