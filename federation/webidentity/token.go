package webidentity

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// Token is a verified web identity token.
type Token struct {
	// Issuer is the trusted issuer that signed the token, with defaults
	// applied. It is shared by every token of that issuer: do not modify.
	Issuer *Issuer
	// Subject is the sub claim. For GitHub it is a template organisations
	// can customise: match claims, never parse it for meaning.
	Subject string
	// Audience is aud, always as a list.
	Audience []string
	// Expiry and IssuedAt are exp and iat.
	Expiry, IssuedAt time.Time
	// JTI is the jti claim, empty when absent.
	JTI string
	// Claims holds every claim of the verified payload. Numbers are
	// json.Number, objects map[string]any, arrays []any.
	Claims map[string]any

	keyPrefix string
}

// ConditionKeys returns the token's claims as IAM condition keys named
// "<issuer host + path>:<claim>", e.g. "token.actions.githubusercontent.com:sub"
// (SPEC §1.7: the prefix is the provider URL without the scheme). Every
// top-level claim that is a string, number or boolean becomes a one-value
// key; an array of those becomes a key with every value, in token order
// (aud, amr, groups). Numbers are written in plain decimal, never with an
// exponent, so ids like repository_id compare as strings the way the
// policy author wrote them. Booleans are "true" and "false".
//
// Skipped: null, objects (the AWS session-tags claim is read separately by
// the STS), arrays containing anything else or nothing at all, and numbers
// that cannot be written finitely.
//
// The host is lowercased; claim names are kept as the issuer wrote them.
// The policy engine compares condition key names case-insensitively, as
// IAM does, so callers must not rely on case to tell keys apart.
func (t *Token) ConditionKeys() map[string][]string {
	prefix := t.keyPrefix
	if prefix == "" && t.Issuer != nil {
		prefix = conditionKeyPrefix(t.Issuer.URL)
	}
	out := make(map[string][]string, len(t.Claims))
	for name, v := range t.Claims {
		var vals []string
		if list, ok := v.([]any); ok {
			vals = make([]string, 0, len(list))
			for _, e := range list {
				s, ok := scalarString(e)
				if !ok {
					vals = nil
					break
				}
				vals = append(vals, s)
			}
		} else if s, ok := scalarString(v); ok {
			vals = []string{s}
		}
		if len(vals) > 0 {
			out[prefix+":"+name] = vals
		}
	}
	return out
}

// scalarString renders a JSON scalar for a condition key.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case json.Number:
		return plainNumber(x)
	case float64:
		// Claims built by callers rather than decoded by Verify.
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return "", false
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	default:
		return "", false
	}
}

// plainNumber writes a JSON number in plain decimal. Integers are kept
// digit for digit (a float64 would round ids above 2^53); anything with a
// fraction or exponent goes through float64 and is printed without an
// exponent.
func plainNumber(n json.Number) (string, bool) {
	s := string(n)
	if isDecimalInteger(s) {
		return s, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", false
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}

// isDecimalInteger reports whether s is an optionally negative run of
// digits, as a JSON integer of any size is.
func isDecimalInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
