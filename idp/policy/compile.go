package policy

import (
	"fmt"
	"strconv"
)

// Compiled is a validated policy prepared for evaluation: wildcard patterns pre-split,
// action patterns lower-cased, CIDRs, dates and numbers pre-parsed. It is immutable and
// safe for concurrent use.
type Compiled struct {
	name    string
	version string
	kind    Kind
	stmts   []cstmt
}

// Name is the policy name given to Compile; it appears in StatementRefs.
func (c *Compiled) Name() string { return c.name }

// Version is the caller's version label given to Compile (not the language version).
func (c *Compiled) Version() string { return c.version }

// Kind is the kind of the source document.
func (c *Compiled) Kind() Kind { return c.kind }

type cstmt struct {
	ref         StatementRef
	deny        bool
	notAction   bool
	actions     []pattern
	hasResource bool // false only in trust policies, which match any resource
	notResource bool
	resources   []pattern
	principal   *PrincipalSet
	conds       []cond
}

// Compile validates d and prepares it for evaluation. name and version identify the
// policy in decisions and in the Evaluator's cache; version is the caller's label for
// this revision of the policy (stored policies are immutable per version).
func Compile(name, version string, d *Document) (*Compiled, error) {
	if d == nil {
		return nil, fmt.Errorf("compile policy %q: %w: nil document", name, ErrInvalidPolicy)
	}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("compile policy %q: %w", name, err)
	}
	vars := d.Version != Version2008
	c := &Compiled{name: name, version: version, kind: d.Kind, stmts: make([]cstmt, 0, len(d.Statements))}
	for i := range d.Statements {
		s := &d.Statements[i]
		cs := cstmt{
			ref:       StatementRef{Policy: name, Sid: s.Sid, Index: i},
			deny:      s.Effect == EffectDeny,
			principal: s.Principal,
		}
		actions := s.Action
		if s.NotAction != nil {
			actions, cs.notAction = s.NotAction, true
		}
		for _, a := range actions {
			// Action names ignore case (SPEC §2.1); variables are not allowed in Action.
			p, err := compilePattern(a, false, true, true)
			if err != nil {
				return nil, fmt.Errorf("compile policy %q: statement %d action: %w", name, i, err)
			}
			cs.actions = append(cs.actions, p)
		}
		resources := s.Resource
		if s.NotResource != nil {
			resources, cs.notResource = s.NotResource, true
		}
		cs.hasResource = resources != nil
		for _, r := range resources {
			// Resource '*' is a whole-string wildcard that crosses ':' boundaries: the IAM
			// Resource element documentation says a '*' at the end of an ARN segment
			// "can expand to match beyond the colon boundaries", and IAM applies the
			// wildcard to the whole string, so "arn:aws:s3:::*" covers every S3 ARN. This
			// is unlike ArnLike conditions, which compare part by part.
			p, err := compilePattern(r, vars, true, false)
			if err != nil {
				return nil, fmt.Errorf("compile policy %q: statement %d resource: %w", name, i, err)
			}
			cs.resources = append(cs.resources, p)
		}
		for _, cd := range s.Conditions {
			cc, ce := compileCondition(cd, vars)
			if ce != nil {
				return nil, fmt.Errorf("compile policy %q: statement %d condition %s: %w: %s", name, i, cd.Operator, ErrInvalidPolicy, ce.msg)
			}
			cs.conds = append(cs.conds, cc)
		}
		c.stmts = append(c.stmts, cs)
	}
	return c, nil
}

// StatementRef names a statement in a decision: the policy name and the Sid, or the
// statement's index when it has no Sid.
type StatementRef struct {
	Policy string `json:"policy"`
	Sid    string `json:"sid,omitempty"`
	Index  int    `json:"index"`
	Layer  string `json:"layer"`
}

func (r StatementRef) String() string {
	if r.Sid != "" {
		return r.Layer + ":" + r.Policy + "#" + r.Sid
	}
	return r.Layer + ":" + r.Policy + "#" + strconv.Itoa(r.Index)
}
