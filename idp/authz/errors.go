package authz

import (
	"errors"
	"strings"

	"github.com/portcullis-id/portcullis/idp/policy"
)

// ErrInvalidRequest marks a request the caller must fix: a missing or malformed field,
// or a raw policy that does not parse. Every *InputError and *PolicyError wraps it.
var ErrInvalidRequest = errors.New("invalid authorization request")

// InputError is one problem with a request field. Field is the JSON key path used by
// the HTTP API, for example "actions[2]" or "policies[1].Statement[0].Effect".
type InputError struct {
	Field string
	Msg   string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap lets errors.Is(err, ErrInvalidRequest) find every input problem.
func (e *InputError) Unwrap() error { return ErrInvalidRequest }

// PolicyError is a raw policy in a request that failed to parse or compile. Field says
// which one: "policies[1]", "boundary" or "session_policy".
type PolicyError struct {
	Field string
	Err   error // from policy.Parse or policy.Compile
}

// Error names the policy and each problem's path, one line per problem:
// `policies[1]: Statement[0].Effect: must be "Allow" or "Deny"`.
func (e *PolicyError) Error() string {
	var b strings.Builder
	for i, pr := range e.problems() {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Field)
		b.WriteString(": ")
		if pr.Path != "" {
			b.WriteString(pr.Path)
			b.WriteString(": ")
		}
		b.WriteString(pr.Msg)
	}
	return b.String()
}

// Unwrap exposes ErrInvalidRequest and the policy error (so errors.Is(err,
// policy.ErrInvalidPolicy) holds too).
func (e *PolicyError) Unwrap() []error { return []error{ErrInvalidRequest, e.Err} }

// Problems lists the problems with full key paths ("policies[1].Statement[0].Effect").
func (e *PolicyError) Problems() []InputError {
	prs := e.problems()
	out := make([]InputError, len(prs))
	for i, pr := range prs {
		out[i] = InputError{Field: e.Field, Msg: pr.Msg}
		if pr.Path != "" {
			out[i].Field += "." + pr.Path
		}
	}
	return out
}

// problems flattens the joined errors policy.Parse returns into path + message.
func (e *PolicyError) problems() []policy.FieldError {
	var out []policy.FieldError
	walk(e.Err, func(leaf error) bool {
		if fe, ok := leaf.(*policy.FieldError); ok {
			out = append(out, *fe)
			return true
		}
		return false
	}, func(leaf error) {
		out = append(out, policy.FieldError{Msg: leaf.Error()})
	})
	return out
}

// Problems returns every field problem carried by err, as returned by Check or
// Simulate (possibly wrapped), or nil when err is not a request problem.
func Problems(err error) []InputError {
	var out []InputError
	walk(err, func(leaf error) bool {
		switch e := leaf.(type) {
		case *InputError:
			out = append(out, *e)
		case *PolicyError:
			out = append(out, e.Problems()...)
		default:
			return false
		}
		return true
	}, nil)
	return out
}

// walk visits err's tree: take is offered each node and returns true when it consumed
// it; joins and wrappers are descended into; a node neither taken nor wrapping anything
// goes to rest (when not nil).
func walk(err error, take func(error) bool, rest func(error)) {
	if err == nil || take(err) {
		return
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walk(e, take, rest)
		}
	case interface{ Unwrap() error }:
		// A wrapper such as "compile policy %q: %w" around a single problem: report the
		// wrapper's text, which carries the context, unless a field error sits inside.
		var fe *policy.FieldError
		if rest != nil && !errors.As(err, &fe) {
			rest(err)
			return
		}
		walk(u.Unwrap(), take, rest)
	default:
		if rest != nil {
			rest(err)
		}
	}
}
