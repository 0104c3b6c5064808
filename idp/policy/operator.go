package policy

import (
	"strings"
)

// opFamily is what an operator compares.
type opFamily uint8

const (
	famString opFamily = iota + 1
	famStringFold
	famStringLike
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famArn
	famNull
)

// cmpOp is the relation of numeric and date operators.
type cmpOp uint8

const (
	cmpEq cmpOp = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

// setOp is the ForAnyValue:/ForAllValues: qualifier (SPEC §2.3).
type setOp uint8

const (
	setNone setOp = iota
	setAny
	setAll
)

// operator is a parsed operator name.
type operator struct {
	family   opFamily
	cmp      cmpOp
	negate   bool
	ifExists bool
	set      setOp
}

type baseOp struct {
	name   string
	family opFamily
	cmp    cmpOp
	negate bool
}

// baseOps lists every operator of SPEC §2.3. Anything else is a parse error, never a
// condition that is silently false: a typo in a Deny must not disable the Deny.
var baseOps = []baseOp{
	{"StringEquals", famString, cmpEq, false},
	{"StringNotEquals", famString, cmpEq, true},
	{"StringEqualsIgnoreCase", famStringFold, cmpEq, false},
	{"StringNotEqualsIgnoreCase", famStringFold, cmpEq, true},
	{"StringLike", famStringLike, cmpEq, false},
	{"StringNotLike", famStringLike, cmpEq, true},
	{"NumericEquals", famNumeric, cmpEq, false},
	{"NumericNotEquals", famNumeric, cmpEq, true},
	{"NumericLessThan", famNumeric, cmpLt, false},
	{"NumericLessThanEquals", famNumeric, cmpLe, false},
	{"NumericGreaterThan", famNumeric, cmpGt, false},
	{"NumericGreaterThanEquals", famNumeric, cmpGe, false},
	{"DateEquals", famDate, cmpEq, false},
	{"DateNotEquals", famDate, cmpEq, true},
	{"DateLessThan", famDate, cmpLt, false},
	{"DateLessThanEquals", famDate, cmpLe, false},
	{"DateGreaterThan", famDate, cmpGt, false},
	{"DateGreaterThanEquals", famDate, cmpGe, false},
	{"Bool", famBool, cmpEq, false},
	{"BinaryEquals", famBinary, cmpEq, false},
	{"IpAddress", famIP, cmpEq, false},
	{"NotIpAddress", famIP, cmpEq, true},
	{"ArnEquals", famArn, cmpEq, false},
	{"ArnLike", famArn, cmpEq, false},
	{"ArnNotEquals", famArn, cmpEq, true},
	{"ArnNotLike", famArn, cmpEq, true},
	{"Null", famNull, cmpEq, false},
}

const (
	qualAny     = "ForAnyValue:"
	qualAll     = "ForAllValues:"
	suffixIfExt = "IfExists"
)

// parseOperator parses names such as "ForAllValues:StringLikeIfExists". Names are
// case-sensitive as in IAM; a near miss in case gets a suggestion in the error.
func parseOperator(name string) (operator, string) {
	var op operator
	rest := name
	switch {
	case strings.HasPrefix(rest, qualAny):
		op.set, rest = setAny, rest[len(qualAny):]
	case strings.HasPrefix(rest, qualAll):
		op.set, rest = setAll, rest[len(qualAll):]
	}
	if strings.HasSuffix(rest, suffixIfExt) {
		op.ifExists, rest = true, strings.TrimSuffix(rest, suffixIfExt)
	}
	for _, b := range baseOps {
		if b.name != rest {
			continue
		}
		op.family, op.cmp, op.negate = b.family, b.cmp, b.negate
		if op.family == famNull && op.ifExists {
			// The Null check is itself about presence; IfExists would make it vacuous.
			return operator{}, "Null cannot take the IfExists suffix"
		}
		if op.family == famNull && op.set != setNone {
			return operator{}, "Null cannot take a ForAnyValue:/ForAllValues: qualifier"
		}
		return op, ""
	}
	names := make([]string, 0, len(baseOps))
	for _, b := range baseOps {
		names = append(names, b.name)
	}
	return operator{}, "unknown condition operator" + suggest(rest, names)
}
