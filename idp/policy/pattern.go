package policy

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A pattern is a wildcard string pre-split into tokens at compile time, so evaluation
// never re-scans policy text for '*', '?' or "${".
//
// Wildcards (SPEC §2.1): '*' matches any run of characters including none, '?' exactly
// one character. Both are plain characters in patterns compiled without wildcards
// (StringEquals and friends take no wildcards, SPEC §2.3).
//
// Policy variables (SPEC §2.3) are tokens of their own and are resolved at evaluation
// time to literal text: a value substituted from a token claim never gains wildcard
// power, so a subject of "*" matches only a literal "*".
type pattern struct {
	toks   []tok
	hasVar bool
	shape  patShape
	lit    string // the literal for shapeExact and shapePrefix
}

type patShape uint8

const (
	shapeGeneral patShape = iota
	shapeExact            // no wildcard, no variable
	shapeAll              // "*"
	shapePrefix           // literal followed by one trailing '*'
)

type tokKind uint8

const (
	tLit tokKind = iota
	tStar
	tOne
	tVar
)

type tok struct {
	kind tokKind
	s    string // literal text, or the default value of a variable
	key  ckey   // the variable's context key
	def  bool   // the variable has a default value
}

var (
	errUnterminatedVar = errors.New("unterminated policy variable: \"${\" without \"}\"")
	errEmptyVar        = errors.New("empty policy variable \"${}\"")
	errBadVarDefault   = errors.New("policy variable default must be a quoted string: ${key, 'value'}")
)

// compilePattern splits s into tokens. vars enables "${...}" (Version 2012-10-17 only);
// wild enables '*' and '?'; lower lower-cases literal text (action patterns).
func compilePattern(s string, vars, wild, lower bool) (pattern, error) {
	var p pattern
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t := lit.String()
			if lower {
				t = strings.ToLower(t)
			}
			p.toks = append(p.toks, tok{kind: tLit, s: t})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case wild && c == '*':
			flush()
			// Consecutive stars mean the same as one and would only slow matching.
			if n := len(p.toks); n == 0 || p.toks[n-1].kind != tStar {
				p.toks = append(p.toks, tok{kind: tStar})
			}
			i++
		case wild && c == '?':
			flush()
			p.toks = append(p.toks, tok{kind: tOne})
			i++
		case vars && c == '$' && i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return pattern{}, errUnterminatedVar
			}
			body := s[i+2 : i+2+end]
			i += end + 3
			// SPEC §2.3 escapes: ${*}, ${?} and ${$} stand for the literal characters.
			switch body {
			case "*", "?", "$":
				lit.WriteString(body)
				continue
			}
			t, err := parseVariable(body)
			if err != nil {
				return pattern{}, err
			}
			flush()
			p.toks = append(p.toks, t)
			p.hasVar = true
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	p.classify()
	return p, nil
}

// parseVariable parses the inside of "${...}": a context key with an optional default,
// as in ${portcullis:PrincipalTag/team, 'none'}.
func parseVariable(body string) (tok, error) {
	name, def, hasDef := strings.Cut(body, ",")
	name = strings.TrimSpace(name)
	if name == "" {
		return tok{}, errEmptyVar
	}
	if strings.ContainsAny(name, "${*? \t") {
		return tok{}, errors.New("invalid character in policy variable name " + `"` + name + `"`)
	}
	t := tok{kind: tVar, key: compileKey(name)}
	if hasDef {
		def = strings.TrimSpace(def)
		if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
			return tok{}, errBadVarDefault
		}
		t.s, t.def = def[1:len(def)-1], true
	}
	return t, nil
}

func (p *pattern) classify() {
	switch {
	case p.hasVar:
		p.shape = shapeGeneral
	case len(p.toks) == 0:
		p.shape, p.lit = shapeExact, ""
	case len(p.toks) == 1 && p.toks[0].kind == tLit:
		p.shape, p.lit = shapeExact, p.toks[0].s
	case len(p.toks) == 1 && p.toks[0].kind == tStar:
		p.shape = shapeAll
	case len(p.toks) == 2 && p.toks[0].kind == tLit && p.toks[1].kind == tStar:
		p.shape, p.lit = shapePrefix, p.toks[0].s
	default:
		p.shape = shapeGeneral
	}
}

// match reports whether s matches the pattern. fold compares letters ignoring case.
// Variables are looked up in ctx; one that cannot be resolved makes the pattern match
// nothing (SPEC §2.3), never everything.
func (p *pattern) match(s string, ctx Context, fold bool) bool {
	switch p.shape {
	case shapeExact:
		if fold {
			return strings.EqualFold(s, p.lit)
		}
		return s == p.lit
	case shapeAll:
		return true
	case shapePrefix:
		if fold {
			_, ok := foldPrefix(s, p.lit)
			return ok
		}
		return strings.HasPrefix(s, p.lit)
	}
	if !p.hasVar {
		return globMatch(p.toks, s, fold)
	}
	// Resolve into a stack buffer so that evaluating a templated pattern does not
	// allocate in the common case of a few tokens.
	var buf [12]tok
	toks := buf[:0]
	for _, t := range p.toks {
		if t.kind != tVar {
			toks = append(toks, t)
			continue
		}
		v, ok := resolveVar(&t, ctx)
		if !ok {
			return false
		}
		toks = append(toks, tok{kind: tLit, s: v})
	}
	return globMatch(toks, s, fold)
}

// resolveVar returns the value of a policy variable. Only a single-valued key can be
// substituted: picking one of several values would make the outcome depend on order.
func resolveVar(t *tok, ctx Context) (string, bool) {
	vals := ctx.lookup(&t.key)
	switch {
	case len(vals) == 1:
		return vals[0], true
	case len(vals) == 0 && t.def:
		return t.s, true
	}
	return "", false
}

// globMatch is the classic linear wildcard matcher that remembers only the most recent
// '*': on a mismatch it lets that star swallow one more character and retries. Earlier
// stars never need revisiting because a later star can absorb anything they could, so the
// cost is O(len(pattern)·len(s)) at worst, with no recursion for hostile patterns.
func globMatch(toks []tok, s string, fold bool) bool {
	ti, off, si := 0, 0, 0
	starTi, starSi := -1, 0
	for {
		for ti < len(toks) && toks[ti].kind == tLit && off >= len(toks[ti].s) {
			ti, off = ti+1, 0
		}
		if ti == len(toks) {
			if si == len(s) {
				return true
			}
		} else {
			switch t := &toks[ti]; t.kind {
			case tStar:
				ti, off = ti+1, 0
				starTi, starSi = ti, si
				continue
			case tOne:
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					si += n
					ti++
					continue
				}
			case tLit:
				if si < len(s) {
					pr, pn := utf8.DecodeRuneInString(t.s[off:])
					sr, sn := utf8.DecodeRuneInString(s[si:])
					if pr == sr || (fold && foldEq(pr, sr)) {
						off += pn
						si += sn
						continue
					}
				}
			}
		}
		if starTi < 0 || starSi >= len(s) {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starSi:])
		starSi += n
		ti, off, si = starTi, 0, starSi
	}
}

// foldEq reports whether two runes are equal under simple Unicode case folding, the
// same relation strings.EqualFold uses.
func foldEq(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

// foldPrefix reports whether s starts with prefix ignoring case, and how many bytes of s
// the prefix covered (folded runes may differ in length).
func foldPrefix(s, prefix string) (int, bool) {
	si := 0
	for _, pr := range prefix {
		if si >= len(s) {
			return 0, false
		}
		sr, n := utf8.DecodeRuneInString(s[si:])
		if !foldEq(pr, sr) {
			return 0, false
		}
		si += n
	}
	return si, true
}
