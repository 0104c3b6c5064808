package policy

import (
	"errors"
	"fmt"
	"strings"
)

// Warning is a valid but risky shape, reported so that a reviewer looks twice.
type Warning struct {
	Path    string `json:"path"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (w Warning) String() string { return w.Path + ": " + w.Message + " [" + w.Code + "]" }

// Warning codes.
const (
	WarnAllowAll         = "allow-all"
	WarnAllowNotAction   = "allow-not-action"
	WarnAllowNotResource = "allow-not-resource"
	WarnFederatedUnbound = "federated-without-sub-or-aud"
	// WarnBroadSubject: a web-identity sub pattern that admits any repository of an
	// owner (repo:acme/*) or any pull request (…:pull_request), which CI forks can mint.
	WarnBroadSubject = "broad-web-identity-subject"
	// WarnFederatedNoSubject: a federated statement bound by audience but not subject.
	WarnFederatedNoSubject = "federated-without-sub"
	WarnTrustAnyone        = "trust-anyone"
	WarnForAllValuesUnsafe = "for-all-values-without-null"
)

// Warnings lists the risky shapes in d, in statement order.
func (d *Document) Warnings() []Warning {
	var out []Warning
	add := func(path, code, msg string) {
		out = append(out, Warning{Path: path, Code: code, Message: msg})
	}
	for i := range d.Statements {
		s := &d.Statements[i]
		path := stmtPath(i, d.single)
		if s.Effect != EffectAllow {
			continue
		}
		if contains(s.Action, "*") && contains(s.Resource, "*") {
			add(path, WarnAllowAll, `allows every action on every resource ("Action": "*" with "Resource": "*")`)
		}
		if s.NotAction != nil {
			add(path+".NotAction", WarnAllowNotAction, "Allow with NotAction grants every action not listed, including actions added later")
		}
		if s.NotResource != nil {
			add(path+".NotResource", WarnAllowNotResource, "Allow with NotResource grants the actions on every resource not listed")
		}
		for _, c := range s.Conditions {
			// SPEC §2.3: ForAllValues is true when the key is absent or empty, so in an
			// Allow it grants to requests that carry no values at all unless the
			// statement also requires the key with Null: false.
			if strings.HasPrefix(c.Operator, qualAll) && !requiresPresent(s.Conditions, c.Key) {
				add(keyPath(path+".Condition."+c.Operator, c.Key), WarnForAllValuesUnsafe,
					`ForAllValues is true when the key is absent; add "Null": {"`+c.Key+`": "false"}`)
			}
		}
		if d.Kind != Trust || s.Principal == nil {
			continue
		}
		if s.Principal.Wildcard && len(s.Conditions) == 0 {
			add(path+".Principal", WarnTrustAnyone, "anyone may assume this role: Principal \"*\" with no condition")
		}
		if len(s.Principal.Federated) > 0 && !bindsSubOrAud(s.Conditions) {
			add(path+".Condition", WarnFederatedUnbound,
				"federated principal with no condition on a :sub or :aud key: any identity the provider issues tokens for can assume this role")
		} else if len(s.Principal.Federated) > 0 && !binds(s.Conditions, ":sub") && !binds(s.Conditions, "saml:aud") {
			// For a CI issuer the audience is ours, the same for every repository: only the
			// subject says which workload it is.
			add(path+".Condition", WarnFederatedNoSubject,
				"federated principal bound only by audience: every workload of the provider that can ask for this audience can assume the role; add a condition on :sub")
		}
		for _, c := range s.Conditions {
			if !strings.HasSuffix(strings.ToLower(c.Key), ":sub") || !strings.Contains(c.Operator, "Like") || strings.Contains(c.Operator, "Not") {
				continue
			}
			for _, v := range c.Values {
				if broadSubject(v) {
					add(keyPath(path+".Condition."+c.Operator, c.Key), WarnBroadSubject,
						fmt.Sprintf("%q admits any repository of an owner or any pull request; pin the repository and the branch or environment", v))
				}
			}
		}
	}
	return out
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func requiresPresent(conds []Condition, key string) bool {
	for _, c := range conds {
		if c.Operator == "Null" && strings.EqualFold(c.Key, key) && contains(c.Values, "false") && !contains(c.Values, "true") {
			return true
		}
	}
	return false
}

// bindsSubOrAud reports whether some condition actually constrains a ":sub" or ":aud"
// key. Negated operators, IfExists, ForAllValues and a bare "*" pattern do not: each is
// satisfied by a token that lacks the claim or carries any value.
func bindsSubOrAud(conds []Condition) bool {
	return binds(conds, ":sub") || binds(conds, ":aud")
}

// binds reports whether a condition really constrains a key ending in suffix: not
// negated, not IfExists, not a set-all or Null test, not a bare wildcard.
func binds(conds []Condition, suffix string) bool {
	for _, c := range conds {
		k := strings.ToLower(c.Key)
		if !strings.HasSuffix(k, suffix) {
			continue
		}
		op, msg := parseOperator(c.Operator)
		if msg != "" || op.negate || op.ifExists || op.set == setAll || op.family == famNull {
			continue
		}
		if op.family == famStringLike && allWildcard(c.Values) {
			continue
		}
		return true
	}
	return false
}

func allWildcard(vals []string) bool {
	for _, v := range vals {
		if strings.Trim(v, "*") != "" {
			return false
		}
	}
	return true
}

// broadSubject reports sub patterns (GitHub Actions' repo:<owner>/<repo>:<context>) that
// let more than one repository, or pull requests, assume the role.
func broadSubject(v string) bool {
	if v == "*" || strings.Contains(v, "pull_request") {
		return true
	}
	rest, ok := strings.CutPrefix(v, "repo:")
	if !ok {
		return false
	}
	repo, _, _ := strings.Cut(rest, ":")
	_, name, found := strings.Cut(repo, "/")
	return !found || strings.ContainsAny(name, "*?") || strings.ContainsAny(repo, "*?") && !strings.Contains(repo, "/")
}

// ParseTrust parses a role trust policy for storing: on top of Parse's checks it refuses
// a federated (web-identity or SAML) statement with no condition on a :sub or :aud key,
// since such a role can be assumed by anyone the provider issues tokens for.
func ParseTrust(data []byte) (*Document, error) {
	d, err := Parse(data, Trust)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, w := range d.Warnings() {
		if w.Code == WarnFederatedUnbound {
			errs = append(errs, &FieldError{Path: w.Path, Msg: "a federated principal needs a condition on the provider's :sub or :aud key"})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}
