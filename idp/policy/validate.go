package policy

import (
	"strconv"
	"strings"
)

// Validate checks a document against the grammar of SPEC §2.1 and the rules of its
// Kind, returning every problem joined, each naming its path.
func (d *Document) Validate() error {
	var p problems
	d.validate(&p, false)
	return p.err()
}

// validate appends problems to p. parsed says the document came from Parse, which has
// already reported the absence of Statement and shape errors.
func (d *Document) validate(p *problems, parsed bool) {
	if !d.Kind.valid() {
		p.add("", "unknown policy kind "+d.Kind.String())
		return
	}
	switch d.Version {
	case Version2012, Version2008:
	case "":
		p.add("Version", `required; use "`+Version2012+`"`)
	case "\x00invalid":
		// Already reported by Parse as the wrong JSON type.
	default:
		p.add("Version", strconv.Quote(d.Version)+` is not a policy language version; use "`+Version2012+`"`)
	}
	if len(d.Statements) == 0 && !parsed {
		p.add("Statement", "must contain at least one statement")
	}
	vars := d.Version != Version2008
	sids := map[string]int{}
	for i := range d.Statements {
		d.Statements[i].validate(p, i, stmtPath(i, d.single), d.Kind, vars, sids)
	}
}

func (s *Statement) has(e elemSet, present bool) bool { return present || s.seen&e != 0 }

func (s *Statement) validate(p *problems, index int, path string, kind Kind, vars bool, sids map[string]int) {
	if s.seen == ^elemSet(0) {
		return // not an object; reported by Parse
	}
	if s.Sid != "" {
		if !isAlnum(s.Sid) {
			p.add(path+".Sid", "may contain only ASCII letters and digits")
		}
		if prev, dup := sids[s.Sid]; dup {
			p.add(path+".Sid", strconv.Quote(s.Sid)+" is already used by statement "+strconv.Itoa(prev)+"; Sids must be unique within a policy")
		} else {
			sids[s.Sid] = index
		}
	}
	switch {
	case s.Effect == EffectAllow || s.Effect == EffectDeny:
	case s.Effect == "" && s.seen&elemEffect == 0:
		p.add(path+".Effect", `required: "Allow" or "Deny"`)
	case s.Effect != "":
		p.add(path+".Effect", strconv.Quote(s.Effect)+` is not "Allow" or "Deny"`+suggest(s.Effect, []string{EffectAllow, EffectDeny}))
	}

	hasA, hasNA := s.has(elemAction, s.Action != nil), s.has(elemNotAction, s.NotAction != nil)
	switch {
	case hasA && hasNA:
		p.add(path, "has both Action and NotAction; use one")
	case !hasA && !hasNA:
		p.add(path, "needs Action or NotAction")
	}
	validateList(p, path+".Action", s.Action, func(v string) string { return checkAction(v) })
	validateList(p, path+".NotAction", s.NotAction, func(v string) string { return checkAction(v) })

	hasR, hasNR := s.has(elemResource, s.Resource != nil), s.has(elemNotResource, s.NotResource != nil)
	if kind == Trust {
		// The role is the resource of a trust policy; IAM refuses the element there.
		if hasR {
			p.add(path+".Resource", "not allowed in a trust policy")
		}
		if hasNR {
			p.add(path+".NotResource", "not allowed in a trust policy")
		}
	} else {
		switch {
		case hasR && hasNR:
			p.add(path, "has both Resource and NotResource; use one")
		case !hasR && !hasNR:
			p.add(path, "needs Resource or NotResource")
		}
		check := func(v string) string { return checkResource(v, vars) }
		validateList(p, path+".Resource", s.Resource, check)
		validateList(p, path+".NotResource", s.NotResource, check)
	}

	hasP, hasNP := s.has(elemPrincipal, s.Principal != nil), s.has(elemNotPrincipal, s.NotPrincipal != nil)
	if kind == Trust {
		if hasNP {
			// SPEC §2.1 / §7 item 2: NotPrincipal is never allowed in a trust policy.
			p.add(path+".NotPrincipal", "not allowed in a trust policy")
		}
		if !hasP {
			p.add(path+".Principal", "required in a trust policy")
		}
		if s.Principal != nil {
			s.Principal.validate(p, path+".Principal")
		}
	} else {
		// Identity-side documents are attached to the principal they govern.
		if hasP {
			p.add(path+".Principal", "not allowed in "+kind.phrase())
		}
		if hasNP {
			p.add(path+".NotPrincipal", "not allowed in "+kind.phrase())
		}
	}

	seenKeys := map[string]bool{}
	badOps := map[string]bool{}
	for _, c := range s.Conditions {
		cp := path + ".Condition." + c.Operator
		kp := keyPath(cp, c.Key)
		if c.Key == "" {
			p.add(kp, "condition key must not be empty")
			continue
		}
		dupKey := c.Operator + "\x00" + strings.ToLower(c.Key)
		if seenKeys[dupKey] {
			p.add(kp, "duplicate condition key (keys ignore case)")
		}
		seenKeys[dupKey] = true
		_, ce := compileCondition(c, vars)
		switch {
		case ce == nil:
		case ce.atOperator:
			if !badOps[c.Operator] {
				p.add(cp, ce.msg)
			}
			badOps[c.Operator] = true
		case ce.value < 0:
			p.add(kp, ce.msg)
		case len(c.Values) == 1:
			p.add(kp, strconv.Quote(c.Values[ce.value])+": "+ce.msg)
		default:
			p.add(indexPath(kp, ce.value), strconv.Quote(c.Values[ce.value])+": "+ce.msg)
		}
	}
}

func validateList(p *problems, path string, list []string, check func(string) string) {
	if list == nil {
		return
	}
	if len(list) == 0 {
		p.add(path, "must not be empty")
		return
	}
	for i, v := range list {
		if msg := check(v); msg != "" {
			if len(list) == 1 {
				p.add(path, strconv.Quote(v)+": "+msg)
			} else {
				p.add(indexPath(path, i), strconv.Quote(v)+": "+msg)
			}
		}
	}
}

// checkAction accepts "*" or "service:action" where either side may use wildcards.
func checkAction(v string) string {
	if v == "*" {
		return ""
	}
	svc, name, ok := strings.Cut(v, ":")
	if !ok || svc == "" || name == "" || strings.Contains(name, ":") {
		return `must be "*" or "service:Action"`
	}
	for _, r := range v {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '-' || r == '_' || r == '.' || r == ':' || r == '*' || r == '?':
		default:
			return "invalid character " + strconv.QuoteRune(r)
		}
	}
	return ""
}

// checkResource accepts "*" or an ARN pattern with six parts, counting only colons
// outside policy variables (whose names contain colons themselves). A pattern with fewer
// parts is accepted when it ends in '*', which expands across the missing colons
// (see the Resource comment in Compile).
func checkResource(v string, vars bool) string {
	if v == "*" {
		return ""
	}
	if !strings.HasPrefix(v, "arn:") {
		return `must be "*" or an ARN ("arn:partition:service:region:account:resource")`
	}
	if _, err := compilePattern(v, vars, true, false); err != nil {
		return err.Error()
	}
	if _, ok := splitArnParts(v, vars); !ok && !strings.HasSuffix(v, "*") {
		return `must be "*" or an ARN ("arn:partition:service:region:account:resource")`
	}
	return ""
}

func (ps *PrincipalSet) validate(p *problems, path string) {
	if ps.Wildcard {
		if ps.Portcullis != nil || ps.AWS != nil || ps.Federated != nil || ps.Service != nil {
			p.add(path, `"*" cannot be combined with named principals`)
		}
		return
	}
	if ps.Portcullis == nil && ps.AWS == nil && ps.Federated == nil && ps.Service == nil {
		p.add(path, "must name at least one principal")
		return
	}
	validateList(p, path+".Portcullis", ps.Portcullis, checkAccountPrincipal)
	validateList(p, path+".AWS", ps.AWS, checkAccountPrincipal)
	validateList(p, path+".Federated", ps.Federated, checkNamedPrincipal)
	validateList(p, path+".Service", ps.Service, checkNamedPrincipal)
}

// Principals take no partial wildcards: IAM accepts "*" alone and refuses "arn:...:role/*",
// which people write expecting a match and which would otherwise silently match nothing.
func checkNamedPrincipal(v string) string {
	switch {
	case v == "*":
		return ""
	case v == "":
		return "must not be empty"
	case strings.ContainsAny(v, "*?"):
		return `wildcards are not allowed in principals except "*" alone`
	}
	return ""
}

func checkAccountPrincipal(v string) string {
	if msg := checkNamedPrincipal(v); msg != "" || v == "*" {
		return msg
	}
	if isAccountID(v) || strings.HasPrefix(v, "arn:") {
		return ""
	}
	return "must be an ARN, a 12-digit account id or \"*\""
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
