package authz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/portcullis-id/portcullis/idp/policy"
)

// MaxSimulatePairs bounds the action × resource pairs of one simulation, so that a
// small request body cannot ask for millions of evaluations.
const MaxSimulatePairs = 1000

// CheckRequest asks for one decision. It names either a stored role (Role) or raw
// identity policies (Policies, for simulation), never both.
type CheckRequest struct {
	// Role is a role name or ARN ("arn:..."); its stored policies are evaluated.
	Role string
	// Policies are raw identity policies evaluated instead of a role's.
	Policies []json.RawMessage
	// Boundary is a raw permissions boundary. With Role it replaces the role's own
	// boundary, to answer "what if this boundary were set".
	Boundary json.RawMessage
	// SessionPolicy, when set, adds the session layer as AssumeRole's Policy would.
	SessionPolicy json.RawMessage
	Action        string
	Resource      string
	// Context holds the request's condition keys; key case does not matter.
	Context   map[string][]string
	Principal policy.Principal
}

// SimulateRequest asks for a decision for every pair of Actions × Resources against
// one policy set. Fields are as in CheckRequest; Resources defaults to ["*"].
type SimulateRequest struct {
	Role          string
	Policies      []json.RawMessage
	Boundary      json.RawMessage
	SessionPolicy json.RawMessage
	Actions       []string
	Resources     []string
	Context       map[string][]string
	Principal     policy.Principal
}

// Result is one decision.
type Result struct {
	Action   string
	Resource string
	Decision policy.Decision
	// Role is the ARN of the role whose policies were evaluated; "" for raw policies.
	Role string
	// Session is the access key id of the role session judged by CheckSession.
	Session string
}

// subject is what a request evaluates: a stored role or raw policies, with optional
// boundary and session overrides.
type subject struct {
	role     string
	policies []json.RawMessage
	boundary json.RawMessage
	session  json.RawMessage
}

// Check decides one request. A deny is a successful answer (err == nil); errors are
// reserved for requests that cannot be answered: request problems (ErrInvalidRequest,
// listed by Problems), an unknown role (ErrUnknownRole) or a role whose policies do not
// load.
func (p *PDP) Check(ctx context.Context, req CheckRequest) (Result, error) {
	var probs []error
	checkAction(&probs, "action", req.Action)
	checkResource(&probs, req.Resource)
	pctx := buildContext(&probs, req.Context)
	set, arn, err := p.prepare(ctx, subject{req.Role, req.Policies, req.Boundary, req.SessionPolicy}, probs)
	if err != nil {
		return Result{}, err
	}
	d := p.ev.Evaluate(policy.Request{Action: req.Action, Resource: req.Resource, Principal: req.Principal, Context: pctx}, set)
	return Result{Action: req.Action, Resource: req.Resource, Decision: d, Role: arn}, nil
}

// Simulate decides every action × resource pair against one policy set, actions in the
// outer loop, in the order given. Errors are as for Check.
func (p *PDP) Simulate(ctx context.Context, req SimulateRequest) ([]Result, error) {
	var probs []error
	if len(req.Actions) == 0 {
		probs = append(probs, &InputError{Field: "actions", Msg: "required: one or more actions such as \"s3:GetObject\""})
	}
	for i, a := range req.Actions {
		checkAction(&probs, "actions["+strconv.Itoa(i)+"]", a)
	}
	resources := req.Resources
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	for i, r := range req.Resources {
		if r == "" {
			probs = append(probs, &InputError{Field: "resources[" + strconv.Itoa(i) + "]", Msg: `must not be empty; use "*" for actions without resource-level scope`})
		}
	}
	if n := len(req.Actions) * len(resources); n > MaxSimulatePairs {
		probs = append(probs, &InputError{Field: "resources", Msg: fmt.Sprintf("%d actions × %d resources is %d pairs; at most %d per simulation", len(req.Actions), len(resources), n, MaxSimulatePairs)})
	}
	pctx := buildContext(&probs, req.Context)
	set, arn, err := p.prepare(ctx, subject{req.Role, req.Policies, req.Boundary, req.SessionPolicy}, probs)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(req.Actions)*len(resources))
	for _, a := range req.Actions {
		for _, r := range resources {
			d := p.ev.Evaluate(policy.Request{Action: a, Resource: r, Principal: req.Principal, Context: pctx}, set)
			out = append(out, Result{Action: a, Resource: r, Decision: d, Role: arn})
		}
	}
	return out, nil
}

// prepare builds the policy set for s. Request problems found by the caller (probs) and
// by the raw policies are all reported together, before the store is read: a request
// that is wrong in several places is fixed in one round trip.
func (p *PDP) prepare(ctx context.Context, s subject, probs []error) (policy.PolicySet, string, error) {
	switch {
	case s.role != "" && len(s.policies) > 0:
		probs = append(probs, &InputError{Field: "policies", Msg: "give either role or policies, not both"})
	case s.role == "" && len(s.policies) == 0:
		probs = append(probs, &InputError{Field: "role", Msg: "required: a role name or ARN (or raw identity policies to simulate)"})
	}
	var raw policy.PolicySet
	for i, doc := range s.policies {
		if c := compileRaw(&probs, "policies["+strconv.Itoa(i)+"]", policy.Identity, doc); c != nil {
			raw.Identity = append(raw.Identity, c)
		}
	}
	if present(s.boundary) {
		raw.Boundary = compileRaw(&probs, "boundary", policy.Boundary, s.boundary)
	}
	if present(s.session) {
		if c := compileRaw(&probs, "session_policy", policy.Session, s.session); c != nil {
			raw.Session = []*policy.Compiled{c}
		}
	}
	if len(probs) > 0 {
		return policy.PolicySet{}, "", errors.Join(probs...)
	}
	if s.role == "" {
		return raw, "", nil
	}
	role, err := p.role(ctx, s.role)
	if err != nil {
		return policy.PolicySet{}, "", err
	}
	set, err := p.PolicySet(ctx, role)
	if err != nil {
		return policy.PolicySet{}, "", err
	}
	if raw.Boundary != nil {
		set.Boundary = raw.Boundary
	}
	set.Session = raw.Session
	return set, role.ARN, nil
}

// compileRaw parses and compiles a policy from a request. It bypasses the evaluator's
// cache: request policies are one-off, and caching them would evict stored policies
// that are used on every request. The compiled policy is named after its field, so that
// a decision's deciding statements point back into the request.
func compileRaw(probs *[]error, field string, kind policy.Kind, doc json.RawMessage) *policy.Compiled {
	d, err := policy.Parse(doc, kind)
	if err != nil {
		*probs = append(*probs, &PolicyError{Field: field, Err: err})
		return nil
	}
	c, err := policy.Compile(field, "request", d)
	if err != nil {
		*probs = append(*probs, &PolicyError{Field: field, Err: err})
		return nil
	}
	return c
}

// present reports whether a raw JSON field was given: absent and null mean "not set".
func present(doc json.RawMessage) bool {
	t := bytes.TrimSpace(doc)
	return len(t) > 0 && !bytes.Equal(t, []byte("null"))
}

// checkAction requires "service:Operation" naming one operation. A wildcard in a
// request would be compared literally against the policies' patterns, answering a
// question nobody asked ("may I call the operation named s3:Get*?").
func checkAction(probs *[]error, field, action string) {
	svc, op, ok := strings.Cut(action, ":")
	switch {
	case action == "":
		*probs = append(*probs, &InputError{Field: field, Msg: `required: an action such as "s3:GetObject"`})
	case !ok || svc == "" || op == "":
		*probs = append(*probs, &InputError{Field: field, Msg: `must be "service:Operation", such as "s3:GetObject"`})
	case strings.ContainsAny(action, "*?"):
		*probs = append(*probs, &InputError{Field: field, Msg: "must name one operation; wildcards belong in policies, not requests"})
	}
}

// buildContext copies the request's condition keys into a policy.Context, lower-casing
// the keys as the evaluator expects.
func buildContext(probs *[]error, in map[string][]string) policy.Context {
	if len(in) == 0 {
		return nil
	}
	out := make(policy.Context, len(in))
	for k, v := range in {
		if strings.TrimSpace(k) == "" {
			*probs = append(*probs, &InputError{Field: "context", Msg: "condition key names must not be empty"})
			continue
		}
		out.Add(k, v...)
	}
	return out
}
