package configs

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every problem found in a configuration is a *FieldError, which
// matches ErrInvalid; the more specific causes below are wrapped inside it.
var (
	// ErrInvalid matches every *FieldError: the configuration was read but is wrong.
	ErrInvalid = errors.New("invalid configuration")
	// ErrUnknownKey: a key that no field of the configuration has.
	ErrUnknownKey = errors.New("unknown key")
	// ErrDuplicateKey: the same key appears twice in one mapping.
	ErrDuplicateKey = errors.New("duplicate key")
)

// FieldError is one problem in a configuration, tied to the key that has to change.
type FieldError struct {
	// File is the configuration file, or "" when the bytes came from Parse.
	File string
	// Line is the 1-based line of the key in the file, or 0 when the key was not
	// written (the value is a default).
	Line int
	// Path is the key path, "tokens.access_token_lifetime" or "apply[1]"; "" for a
	// problem with the whole document.
	Path string
	// Err says what is wrong and, where possible, how to fix it.
	Err error
}

// Error formats the problem as "file:line: path: message", leaving out the parts
// that are unknown, so editors and terminals can jump to the line.
func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause, so errors.Is(err, ErrUnknownKey) works.
func (e *FieldError) Unwrap() error { return e.Err }

// Is reports that every FieldError is an ErrInvalid, separating "the file is wrong"
// from "the file could not be read".
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// problems collects FieldErrors so Validate can report all of them at once.
type problems struct {
	errs []error
}

func (p *problems) add(path, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{Path: path, Err: fmt.Errorf(format, args...)})
}

func (p *problems) err() error { return errors.Join(p.errs...) }

// fieldErrors lists the FieldErrors inside err, looking through errors.Join.
func fieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if fe, ok := e.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				walk(inner)
			}
		}
	}
	walk(err)
	return out
}

// annotate fills in the file name and, from lines, the line of each FieldError's key.
func annotate(err error, file string, lines map[string]int) error {
	for _, fe := range fieldErrors(err) {
		if fe.File == "" {
			fe.File = file
		}
		if fe.Line == 0 {
			fe.Line = lines[fe.Path]
		}
	}
	return err
}
