package policy

import (
	"strings"
	"sync"
	"time"
)

// Effect is the outcome of an evaluation. The zero value is Deny, so a forgotten or
// half-built Decision never allows.
type Effect uint8

// Decision effects.
const (
	Deny Effect = iota
	Allow
)

func (e Effect) String() string {
	if e == Allow {
		return EffectAllow
	}
	return EffectDeny
}

// MarshalText renders the effect as "Allow" or "Deny".
func (e Effect) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// Layer names used in StatementRef.Layer and Decision.MissingLayer.
const (
	LayerIdentity = "identity"
	LayerBoundary = "boundary"
	LayerSession  = "session"
	LayerTrust    = "trust"
)

// Principal is who makes a request. Only trust policies (and other documents with a
// Principal element) look at it.
type Principal struct {
	// Type is "Portcullis", "AWS", "Federated" or "Service"; empty means anonymous.
	Type string
	// ID is the principal's ARN, or for Federated the provider ARN or built-in name.
	ID string
	// Account is the account id the principal belongs to, matched by account-id
	// entries such as {"AWS": "123456789012"}.
	Account string
}

// Principal types.
const (
	PrincipalPortcullis = "Portcullis"
	PrincipalAWS        = "AWS"
	PrincipalFederated  = "Federated"
	PrincipalService    = "Service"
)

// Request is one access request.
type Request struct {
	Action    string // "service:Operation"
	Resource  string // the resource ARN, or "*" for actions without resource-level scope
	Principal Principal
	Context   Context
}

// PolicySet is everything that applies to one role session (SPEC §2.4). Resource-based
// policies, SCPs and RCPs are not evaluated yet and have no field here.
type PolicySet struct {
	Identity []*Compiled
	Boundary *Compiled   // nil: no permissions boundary
	Session  []*Compiled // nil: no session policies; non-nil and empty allows nothing
}

// Decision is the outcome with its explanation.
type Decision struct {
	Effect Effect `json:"effect"`
	// Explicit is true when a Deny statement decided.
	Explicit bool `json:"explicit"`
	// Deciding lists every matching Deny statement for an explicit deny, or for an
	// Allow the first allowing statement of each required layer (identity, then
	// boundary and session when present). It is empty for an implicit deny.
	Deciding []StatementRef `json:"deciding,omitempty"`
	Reason   string         `json:"reason"`
	// MissingLayer names the layer that failed to allow for an implicit deny:
	// "identity", "boundary", "session" or "trust". When several are missing the first
	// in that order is named.
	MissingLayer string `json:"missing_layer,omitempty"`
}

// Options configure an Evaluator.
type Options struct {
	// CacheSize bounds the compiled-policy cache; 0 means DefaultCacheSize.
	CacheSize int
	// Now supplies the current time for aws:CurrentTime / aws:EpochTime when the
	// request context lacks them; nil means time.Now.
	Now func() time.Time
}

// DefaultCacheSize is the number of compiled policies an Evaluator keeps by default.
const DefaultCacheSize = 1024

// Evaluator decides requests and caches compiled policies by (name, version). The zero
// value is ready to use; it is safe for concurrent use.
type Evaluator struct {
	now func() time.Time

	mu    sync.Mutex
	size  int
	cache *lru
}

// NewEvaluator returns an Evaluator with the given options.
func NewEvaluator(opts Options) *Evaluator {
	return &Evaluator{now: opts.Now, size: opts.CacheSize}
}

func (e *Evaluator) clock() func() time.Time {
	if e.now != nil {
		return e.now
	}
	return time.Now
}

// Fixed reasons keep a decision free of string formatting; Deciding carries the detail.
const (
	reasonMalformed     = "implicit deny: malformed request (action must be \"service:Operation\", resource must not be empty)"
	reasonDenyIdentity  = "explicit deny in an identity policy"
	reasonDenyBoundary  = "explicit deny in the permissions boundary"
	reasonDenySession   = "explicit deny in a session policy"
	reasonDenyTrust     = "explicit deny in the trust policy"
	reasonNoIdentity    = "implicit deny: no identity policy allows the request"
	reasonNoBoundary    = "implicit deny: an identity policy allows the request but the permissions boundary does not"
	reasonNoSession     = "implicit deny: an identity policy allows the request but no session policy does"
	reasonNoTrust       = "implicit deny: the trust policy does not allow the request"
	reasonWrongKind     = "implicit deny: not a trust policy"
	reasonAllowIdentity = "allowed by an identity policy"
	reasonAllowBoundary = "allowed by an identity policy and the permissions boundary"
	reasonAllowSession  = "allowed by an identity policy and a session policy"
	reasonAllowAll      = "allowed by an identity policy, the permissions boundary and a session policy"
	reasonAllowTrust    = "allowed by the trust policy"
)

// layerScan accumulates what one layer contributed.
type layerScan struct {
	allowed bool
	allow   StatementRef
}

// Evaluate decides req against set in the order of SPEC §2.4: an explicit Deny in any
// layer wins; otherwise an identity policy must allow, and so must the boundary when one
// is set and a session policy when session policies were passed; anything else is an
// implicit deny.
func (e *Evaluator) Evaluate(req Request, set PolicySet) Decision {
	if !wellFormed(&req) {
		return Decision{Effect: Deny, Reason: reasonMalformed}
	}
	now := e.clock()
	var denies []StatementRef
	var id, bd, ss layerScan
	for _, c := range set.Identity {
		scanPolicy(c, LayerIdentity, &req, now, &denies, &id)
	}
	if set.Boundary != nil {
		scanPolicy(set.Boundary, LayerBoundary, &req, now, &denies, &bd)
	}
	for _, c := range set.Session {
		scanPolicy(c, LayerSession, &req, now, &denies, &ss)
	}
	if len(denies) > 0 {
		d := Decision{Effect: Deny, Explicit: true, Deciding: denies}
		switch denies[0].Layer {
		case LayerBoundary:
			d.Reason = reasonDenyBoundary
		case LayerSession:
			d.Reason = reasonDenySession
		default:
			d.Reason = reasonDenyIdentity
		}
		return d
	}
	switch {
	case !id.allowed:
		return Decision{Effect: Deny, Reason: reasonNoIdentity, MissingLayer: LayerIdentity}
	case set.Boundary != nil && !bd.allowed:
		return Decision{Effect: Deny, Reason: reasonNoBoundary, MissingLayer: LayerBoundary}
	case set.Session != nil && !ss.allowed:
		return Decision{Effect: Deny, Reason: reasonNoSession, MissingLayer: LayerSession}
	}
	deciding := make([]StatementRef, 1, 3)
	deciding[0] = id.allow
	reason := reasonAllowIdentity
	if set.Boundary != nil {
		deciding = append(deciding, bd.allow)
		reason = reasonAllowBoundary
	}
	if set.Session != nil {
		deciding = append(deciding, ss.allow)
		reason = reasonAllowSession
		if set.Boundary != nil {
			reason = reasonAllowAll
		}
	}
	return Decision{Effect: Allow, Deciding: deciding, Reason: reason}
}

// EvaluateTrust decides whether principal may perform action (for example
// "sts:AssumeRoleWithWebIdentity" or "sts:TagSession") on the role whose trust policy is
// trust. The trust policy is the only allowing policy (SPEC §2.4).
func (e *Evaluator) EvaluateTrust(trust *Compiled, principal Principal, action string, ctx Context) Decision {
	if trust == nil || trust.kind != Trust {
		return Decision{Effect: Deny, Reason: reasonWrongKind, MissingLayer: LayerTrust}
	}
	req := Request{Action: action, Resource: "*", Principal: principal, Context: ctx}
	if !wellFormed(&req) {
		return Decision{Effect: Deny, Reason: reasonMalformed}
	}
	var denies []StatementRef
	var tr layerScan
	scanPolicy(trust, LayerTrust, &req, e.clock(), &denies, &tr)
	switch {
	case len(denies) > 0:
		return Decision{Effect: Deny, Explicit: true, Deciding: denies, Reason: reasonDenyTrust}
	case !tr.allowed:
		return Decision{Effect: Deny, Reason: reasonNoTrust, MissingLayer: LayerTrust}
	}
	return Decision{Effect: Allow, Deciding: []StatementRef{tr.allow}, Reason: reasonAllowTrust}
}

func wellFormed(req *Request) bool {
	svc, op, ok := strings.Cut(req.Action, ":")
	return ok && svc != "" && op != "" && req.Resource != ""
}

// scanPolicy walks one policy's statements. Every Deny statement is checked (all of them
// are reported); Allow statements stop being checked once the layer is allowed or a Deny
// has been found, since they can no longer change the outcome. A trust policy placed in
// a permissions layer can deny but never allow: it has no Resource element and would
// otherwise grant its actions on everything.
func scanPolicy(c *Compiled, layer string, req *Request, now func() time.Time, denies *[]StatementRef, ls *layerScan) {
	if c == nil {
		return
	}
	canAllow := c.kind != Trust || layer == LayerTrust
	for i := range c.stmts {
		s := &c.stmts[i]
		if !s.deny && (ls.allowed || len(*denies) > 0 || !canAllow) {
			continue
		}
		if !s.matches(req, now) {
			continue
		}
		ref := s.ref
		ref.Layer = layer
		if s.deny {
			*denies = append(*denies, ref)
			continue
		}
		ls.allowed, ls.allow = true, ref
	}
}

// matches applies SPEC §2.2: principal, action, resource, then every condition.
func (s *cstmt) matches(req *Request, now func() time.Time) bool {
	if s.principal != nil && !s.principal.matches(&req.Principal) {
		return false
	}
	hit := false
	for i := range s.actions {
		if s.actions[i].match(req.Action, nil, true) {
			hit = true
			break
		}
	}
	if hit == s.notAction {
		return false
	}
	if s.hasResource {
		hit = false
		for i := range s.resources {
			if s.resources[i].match(req.Resource, req.Context, false) {
				hit = true
				break
			}
		}
		if hit == s.notResource {
			return false
		}
	}
	for i := range s.conds {
		if !s.conds[i].eval(req.Context, now) {
			return false
		}
	}
	return true
}

// matches reports whether p is named by the set. Entries are exact: principals take no
// partial wildcards. Account entries ("123456789012" or "arn:…:iam::123456789012:root")
// stand for every principal of that account.
func (ps *PrincipalSet) matches(p *Principal) bool {
	if ps.Wildcard {
		return true
	}
	switch p.Type {
	case PrincipalPortcullis, PrincipalAWS:
		return matchAccountPrincipal(ps.Portcullis, p) || matchAccountPrincipal(ps.AWS, p)
	case PrincipalFederated:
		return matchExact(ps.Federated, p.ID)
	case PrincipalService:
		return matchExact(ps.Service, p.ID)
	}
	return false
}

func matchExact(list []string, id string) bool {
	for _, v := range list {
		if v == "*" || (id != "" && v == id) {
			return true
		}
	}
	return false
}

func matchAccountPrincipal(list []string, p *Principal) bool {
	for _, v := range list {
		switch {
		case v == "*":
			return true
		case p.ID != "" && v == p.ID:
			return true
		case p.Account != "" && v == p.Account:
			return true
		case p.Account != "" && isRootOf(v, p.Account):
			return true
		}
	}
	return false
}

// isRootOf reports whether v is "arn:<partition>:iam::<account>:root".
func isRootOf(v, account string) bool {
	rest, ok := strings.CutSuffix(v, ":root")
	if !ok || !strings.HasPrefix(v, "arn:") {
		return false
	}
	rest, ok = strings.CutSuffix(rest, account)
	return ok && strings.HasSuffix(rest, ":iam::") && strings.Count(rest, ":") == 4
}
