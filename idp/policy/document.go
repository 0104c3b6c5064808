package policy

import "strconv"

// Kind says where a document is attached, which decides the elements it may carry
// (SPEC §2.1): identity, boundary and session policies name no principal; trust policies
// must name one and may not use NotPrincipal or Resource.
type Kind int

// The kinds of policy Portcullis evaluates.
const (
	Identity Kind = iota + 1
	Trust
	Boundary
	Session
)

func (k Kind) String() string {
	switch k {
	case Identity:
		return "identity"
	case Trust:
		return "trust"
	case Boundary:
		return "boundary"
	case Session:
		return "session"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// phrase is the kind with its article, for messages: "an identity policy".
func (k Kind) phrase() string {
	if k == Identity {
		return "an identity policy"
	}
	return "a " + k.String() + " policy"
}

func (k Kind) valid() bool { return k >= Identity && k <= Session }

// Policy language versions. Only 2012-10-17 substitutes policy variables; under
// 2008-10-17 "${...}" is literal text (SPEC §2.1).
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Statement effects as written in documents.
const (
	EffectAllow = "Allow"
	EffectDeny  = "Deny"
)

// Document is a parsed policy. It is plain data: build one by hand or with Parse, check
// it with Validate, and turn it into something evaluable with Compile.
type Document struct {
	Version    string
	ID         string // the optional top-level "Id"
	Statements []Statement
	Kind       Kind

	// single records that Statement was written as one object rather than a list, so
	// that paths in errors read "Statement.Effect" like the source does.
	single bool
}

// Statement is one entry of the Statement element. A nil slice or pointer means the
// element is absent; an empty non-nil slice means it was present and empty, which
// Validate refuses.
type Statement struct {
	Sid          string
	Effect       string
	Principal    *PrincipalSet
	NotPrincipal *PrincipalSet
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	Conditions   []Condition

	// seen marks elements present in the JSON even when their value was malformed, so
	// that one shape error is not followed by a misleading "missing" error.
	seen elemSet
}

// PrincipalSet is the value of Principal or NotPrincipal. "AWS" entries are kept apart
// from "Portcullis" ones so that documents round-trip, but both name principals of the
// same account namespace and are matched alike (SPEC §8).
type PrincipalSet struct {
	Wildcard   bool // "Principal": "*"
	Portcullis []string
	AWS        []string
	Federated  []string
	Service    []string
}

// Condition is one operator/key pair of a Condition block with its values, which are
// OR'ed (SPEC §2.2). Conditions of one statement are AND'ed.
type Condition struct {
	Operator string // as written, for example "ForAnyValue:StringLikeIfExists"
	Key      string // as written; keys are matched ignoring case
	Values   []string
}

// elemSet is a bitmask of statement elements.
type elemSet uint16

const (
	elemSid elemSet = 1 << iota
	elemEffect
	elemPrincipal
	elemNotPrincipal
	elemAction
	elemNotAction
	elemResource
	elemNotResource
	elemCondition
)

// statementKeys lists the elements a statement may carry, in the order errors name them.
var statementKeys = []string{"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}

// topKeys lists the elements a document may carry.
var topKeys = []string{"Version", "Id", "Statement"}

func elemFor(key string) elemSet {
	for i, k := range statementKeys {
		if k == key {
			return 1 << i
		}
	}
	return 0
}
