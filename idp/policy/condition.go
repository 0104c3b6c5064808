package policy

import (
	"encoding/base64"
	"errors"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// cond is one compiled operator/key pair. Only the slice for its family is set.
type cond struct {
	op       operator
	key      ckey
	clockKey bool // the key is the current time, which the evaluator's clock can supply

	strs     []pattern
	arns     []arnPattern
	nums     []float64
	dates    []time.Time
	bools    []bool
	binaries []string
	prefixes []netip.Prefix
}

// arnPattern is an ARN split into its six colon-separated parts; ArnLike compares each
// part separately and wildcards never cross a colon (SPEC §2.3), unlike Resource.
type arnPattern [6]pattern

var (
	errNotNumber = errors.New("not a number")
	errNotDate   = errors.New("not a date: use RFC 3339 (2026-01-02T15:04:05Z) or epoch seconds")
	errNotBool   = errors.New(`not a boolean: use "true" or "false"`)
	errNotIP     = errors.New("not an IP address or CIDR block")
	errNotBase64 = errors.New("not base64")
	errNotArn    = errors.New(`not an ARN: need six colon-separated parts "arn:partition:service:region:account:resource"`)
)

// compileCondition checks and pre-parses one condition. vars says whether policy
// variables are substituted (Version 2012-10-17); SPEC §2.3 allows them only in string
// and ARN values, so other families parse "${" as the malformed value it is.
func compileCondition(c Condition, vars bool) (cond, *condError) {
	op, msg := parseOperator(c.Operator)
	if msg != "" {
		return cond{}, &condError{msg: msg, value: -1, atOperator: true}
	}
	out := cond{op: op, key: compileKey(c.Key)}
	switch out.key.name {
	case "portcullis:currenttime", "portcullis:epochtime", "aws:currenttime", "aws:epochtime":
		out.clockKey = true
	}
	if len(c.Values) == 0 {
		return cond{}, &condError{msg: "must have at least one value", value: -1}
	}
	for i, v := range c.Values {
		var err error
		switch op.family {
		case famString, famStringFold:
			var p pattern
			p, err = compilePattern(v, vars, false, false)
			out.strs = append(out.strs, p)
		case famStringLike:
			var p pattern
			p, err = compilePattern(v, vars, true, false)
			out.strs = append(out.strs, p)
		case famArn:
			var a arnPattern
			a, err = compileArn(v, vars)
			out.arns = append(out.arns, a)
		case famNumeric:
			var f float64
			f, err = parseNumber(v)
			out.nums = append(out.nums, f)
		case famDate:
			var t time.Time
			t, err = parseDate(v)
			out.dates = append(out.dates, t)
		case famBool, famNull:
			var b bool
			b, err = parseBool(v)
			out.bools = append(out.bools, b)
		case famBinary:
			if _, derr := base64.StdEncoding.DecodeString(v); derr != nil {
				err = errNotBase64
			}
			out.binaries = append(out.binaries, v)
		case famIP:
			var p netip.Prefix
			p, err = parsePrefix(v)
			out.prefixes = append(out.prefixes, p)
		}
		if err != nil {
			return cond{}, &condError{msg: err.Error(), value: i}
		}
	}
	return out, nil
}

// condError locates a problem in a condition: the operator name, the key, or one value.
type condError struct {
	msg        string
	value      int // index of the bad value, or -1
	atOperator bool
}

func parseNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errNotNumber
	}
	return f, nil
}

// parseDate accepts RFC 3339 (with or without fractional seconds), the date-only and
// zone-less ISO 8601 forms (read as UTC) and epoch seconds, as IAM date operators do.
func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errNotDate
	}
	if isEpoch(s) {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil || sec < -62135596800 || sec > 253402300799 {
			return time.Time{}, errNotDate
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errNotDate
}

func isEpoch(s string) bool {
	if s[0] == '-' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func parseBool(s string) (bool, error) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, nil
	case strings.EqualFold(s, "false"):
		return false, nil
	}
	return false, errNotBool
}

// parsePrefix accepts a CIDR block or a single address (a /32 or /128). Host bits are
// masked off, as "10.1.2.3/8" plainly means 10.0.0.0/8; IPv4-mapped IPv6 is unmapped so
// that ::ffff:10.0.0.1 and 10.0.0.1 are the same address.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Addr().Zone() != "" {
			return netip.Prefix{}, errNotIP
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, errNotIP
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// splitArnParts splits into at most six parts on ':' outside "${...}", so that a
// variable such as ${aws:username} stays in one part.
func splitArnParts(s string, vars bool) ([]string, bool) {
	parts := make([]string, 0, 6)
	start, depth := 0, 0
	for i := 0; i < len(s) && len(parts) < 5; i++ {
		switch {
		case vars && s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
		case s[i] == '}' && depth > 0:
			depth--
		case s[i] == ':' && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	parts = append(parts, s[start:])
	return parts, len(parts) == 6
}

func compileArn(s string, vars bool) (arnPattern, error) {
	var a arnPattern
	parts, ok := splitArnParts(s, vars)
	if !ok {
		return a, errNotArn
	}
	for i, part := range parts {
		p, err := compilePattern(part, vars, true, false)
		if err != nil {
			return a, err
		}
		a[i] = p
	}
	return a, nil
}

// eval decides the condition against the request context (SPEC §2.3).
func (c *cond) eval(ctx Context, now func() time.Time) bool {
	vals := ctx.lookup(&c.key)
	if c.op.family == famNull {
		// Null:true means the key is absent; Null:false that it is present.
		absent := len(vals) == 0
		for _, b := range c.bools {
			if b == absent {
				return true
			}
		}
		return false
	}
	if len(vals) == 0 {
		if c.clockKey && c.op.family == famDate && now != nil {
			// aws:CurrentTime is always present in IAM; when the caller did not put it
			// in the context the evaluator's clock supplies it, so a time-boxed Deny
			// cannot be skipped by omission.
			return c.matchTime(now()) != c.op.negate
		}
		switch {
		case c.op.ifExists:
			return true // SPEC §2.3: …IfExists is true when the key is absent.
		case c.op.set == setAll:
			return true // ForAllValues over an absent or empty set is vacuously true.
		case c.op.set == setAny:
			return false
		}
		// A positive operator needs the key; a negated one is true without it.
		return c.op.negate
	}
	switch c.op.set {
	case setAny:
		for _, v := range vals {
			if c.matchValue(v, ctx) != c.op.negate {
				return true
			}
		}
		return false
	case setAll:
		for _, v := range vals {
			if c.matchValue(v, ctx) == c.op.negate {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if c.matchValue(v, ctx) {
			return !c.op.negate
		}
	}
	return c.op.negate
}

// matchValue reports whether one request value matches any of the policy values under
// the operator's positive form; values are OR'ed (SPEC §2.2). A request value that does
// not parse for the family matches nothing.
func (c *cond) matchValue(v string, ctx Context) bool {
	switch c.op.family {
	case famString, famStringLike:
		for i := range c.strs {
			if c.strs[i].match(v, ctx, false) {
				return true
			}
		}
	case famStringFold:
		for i := range c.strs {
			if c.strs[i].match(v, ctx, true) {
				return true
			}
		}
	case famArn:
		for i := range c.arns {
			if c.arns[i].match(v, ctx) {
				return true
			}
		}
	case famNumeric:
		f, err := parseNumber(v)
		if err != nil {
			return false
		}
		for _, p := range c.nums {
			if compare(cmpFloat(f, p), c.op.cmp) {
				return true
			}
		}
	case famDate:
		t, err := parseDate(v)
		if err != nil {
			return false
		}
		return c.matchTime(t)
	case famBool:
		b, err := parseBool(v)
		if err != nil {
			return false
		}
		for _, p := range c.bools {
			if b == p {
				return true
			}
		}
	case famBinary:
		for _, p := range c.binaries {
			if v == p {
				return true
			}
		}
	case famIP:
		a, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil {
			return false
		}
		a = a.Unmap().WithZone("")
		for _, p := range c.prefixes {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

func (c *cond) matchTime(t time.Time) bool {
	for _, p := range c.dates {
		if compare(t.Compare(p), c.op.cmp) {
			return true
		}
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compare applies a relation to the sign of (request − policy).
func compare(sign int, op cmpOp) bool {
	switch op {
	case cmpLt:
		return sign < 0
	case cmpLe:
		return sign <= 0
	case cmpGt:
		return sign > 0
	case cmpGe:
		return sign >= 0
	}
	return sign == 0
}

// match compares an ARN part by part without allocating.
func (a *arnPattern) match(v string, ctx Context) bool {
	rest := v
	for i := 0; i < 5; i++ {
		part, tail, ok := strings.Cut(rest, ":")
		if !ok {
			return false
		}
		if !a[i].match(part, ctx, false) {
			return false
		}
		rest = tail
	}
	return a[5].match(rest, ctx, false)
}
