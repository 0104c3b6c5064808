package policy

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. Every error returned by Parse, Validate and Compile wraps one of them,
// so callers can branch with errors.Is while still showing the precise message.
var (
	// ErrInvalidPolicy marks a document that breaks the grammar of SPEC §2.1.
	ErrInvalidPolicy = errors.New("invalid policy")
	// ErrTooLarge marks input longer than MaxDocumentSize.
	ErrTooLarge = errors.New("policy document too large")
	// ErrTooDeep marks JSON nested deeper than MaxDepth.
	ErrTooDeep = errors.New("policy document nested too deeply")
	// ErrWrongKind marks a compiled policy used where another kind was expected, such as
	// an identity policy handed to EvaluateTrust.
	ErrWrongKind = errors.New("policy of the wrong kind")
)

// Limits on input. IAM caps managed policies at 6,144 characters and inline role policies
// at 10,240; 128 KiB leaves room for generous local policies while bounding the work a
// hostile document can cause. The deepest legal shape is
// document → Statement list → statement → Condition → operator → key → value list (7).
const (
	MaxDocumentSize = 128 << 10
	MaxDepth        = 8
)

// FieldError is one problem in a document, located by its path, for example
// `Statement[1].Condition.StringLike["aws:username"]: value must be a string or list of
// strings`. Condition keys are quoted in brackets because they contain dots and colons.
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Unwrap lets errors.Is(err, ErrInvalidPolicy) work on every field error.
func (e *FieldError) Unwrap() error { return ErrInvalidPolicy }

// problems collects FieldErrors in document order.
type problems struct{ errs []error }

func (p *problems) add(path, msg string) {
	p.errs = append(p.errs, &FieldError{Path: path, Msg: msg})
}

func (p *problems) err() error { return errors.Join(p.errs...) }

// Path helpers keep the spelling of paths in one place.

func stmtPath(i int, single bool) string {
	if single {
		return "Statement"
	}
	return "Statement[" + strconv.Itoa(i) + "]"
}

func indexPath(base string, i int) string { return base + "[" + strconv.Itoa(i) + "]" }

func keyPath(base, key string) string { return base + "[" + strconv.Quote(key) + "]" }

// suggest returns a hint when want differs from got only in letter case, the most common
// typo in hand-written policies ("statement", "stringEquals").
func suggest(got string, candidates []string) string {
	for _, c := range candidates {
		if strings.EqualFold(got, c) {
			return "; did you mean " + strconv.Quote(c) + "?"
		}
	}
	return ""
}
