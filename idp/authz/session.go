package authz

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/portcullis-id/portcullis/idp/keys"
	"github.com/portcullis-id/portcullis/idp/policy"
	"github.com/portcullis-id/portcullis/store"
)

// Session token profile, as idp/sts issues it: an RFC 9068 access token for the
// audience "sts" whose jti is the access key id.
const (
	// SessionTokenAudience is the aud every session token carries (sts.SessionTokenAudience).
	SessionTokenAudience = "sts"
	// SessionClockSkew is how far the clocks of the instance that issued a token and the
	// one judging it may disagree. RFC 7519 §4.1.4 allows "some small leeway"; a minute
	// is the most we give. It applies to the token's exp, nbf and iat only: the stored
	// session's ExpiresAt is the Expiration its holder was told, and is compared
	// without leeway.
	SessionClockSkew = 60 * time.Second
	// maxSessionTokenLen refuses absurd tokens before any parsing. A real one holds at
	// most 50 tags and 10 policy ARNs, well under this.
	maxSessionTokenLen = 32 << 10
	// typATJWT is the JWS typ of RFC 9068 §2.1; media type names ignore case
	// (RFC 7515 §4.1.9), and the long form is the same type written out.
	typATJWT     = "at+jwt"
	typATJWTLong = "application/at+jwt"
)

// Reasons given for a session that is not judged. They are safe for any caller: they
// never say why a signature failed.
const (
	ReasonSessionInvalid      = "session revoked or expired"
	ReasonSessionTokenInvalid = "invalid session token"
)

// Errors of CheckSession that are answered with a deny. Both reach the caller inside a
// *SessionError.
var (
	// ErrSessionInvalid: the token is genuine but the session is not live: unknown,
	// revoked, expired, or its role or a managed session policy has been deleted since.
	ErrSessionInvalid = errors.New("role session revoked or expired")
	// ErrSessionTokenInvalid: the token is not one of ours (malformed, wrong signature,
	// key, typ, issuer or audience, not yet valid) or disagrees with the stored session.
	ErrSessionTokenInvalid = errors.New("invalid role session token")
)

// ErrSessionsDisabled is returned by CheckSession on a PDP built with New.
var ErrSessionsDisabled = errors.New("role session checks are not configured")

// SessionError is a session that CheckSession refuses to judge. The answer to the
// caller is a deny (Decision); Err holds the detail for the log and wraps
// ErrSessionInvalid or ErrSessionTokenInvalid.
type SessionError struct {
	// Session (the access key id) and Role (the role's ARN) are set when the token was
	// verified; an unverified token names nothing worth repeating.
	Session string
	Role    string
	Reason  string // ReasonSessionInvalid or ReasonSessionTokenInvalid
	Err     error
}

func (e *SessionError) Error() string { return e.Err.Error() }

func (e *SessionError) Unwrap() error { return e.Err }

// Decision is the deny that answers a refused session.
func (e *SessionError) Decision() policy.Decision {
	return policy.Decision{Effect: policy.Deny, Reason: e.Reason}
}

func tokenInvalid(format string, args ...any) *SessionError {
	return &SessionError{Reason: ReasonSessionTokenInvalid, Err: fmt.Errorf("%w: "+format, append([]any{ErrSessionTokenInvalid}, args...)...)}
}

func (c *sessionClaims) invalid(format string, args ...any) *SessionError {
	e := tokenInvalid(format, args...)
	e.Session, e.Role = c.JTI, c.Role
	return e
}

func (c *sessionClaims) dead(format string, args ...any) *SessionError {
	return &SessionError{
		Session: c.JTI, Role: c.Role, Reason: ReasonSessionInvalid,
		Err: fmt.Errorf("%w: session %s: "+format, append([]any{ErrSessionInvalid, c.JTI}, args...)...),
	}
}

// PublicKeys is the source of the keys session tokens are verified with (a
// *keys.Manager): every published key, the retired ones still within a token lifetime
// included.
type PublicKeys interface {
	PublicKeys() []keys.Key
}

// RoleSessions is the part of the store that holds issued role sessions.
type RoleSessions interface {
	// GetRoleSession returns the session stored under the access key id, revoked and
	// expired ones included; store.ErrNotFound for an unknown id.
	GetRoleSession(ctx context.Context, id string) (store.RoleSession, error)
}

var _ RoleSessions = store.Store(nil)

// SessionOptions let a PDP judge role sessions. Keys, Issuer and Sessions are required.
type SessionOptions struct {
	Keys PublicKeys
	// Issuer is our issuer URL; a session token's iss must equal it.
	Issuer   string
	Sessions RoleSessions
	// Now is the clock for token and session lifetimes; nil means time.Now.
	Now func() time.Time
}

// sessionDeps is SessionOptions checked and defaulted.
type sessionDeps struct {
	keys     PublicKeys
	issuer   string
	sessions RoleSessions
	now      func() time.Time
}

// NewWithSessions is New for a PDP that also answers CheckSession. It panics when a
// required option is missing, which is a wiring bug.
func NewWithSessions(st Store, ev *policy.Evaluator, o SessionOptions) *PDP {
	if o.Keys == nil || o.Issuer == "" || o.Sessions == nil {
		panic("authz.NewWithSessions: Keys, Issuer and Sessions are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	p := New(st, ev)
	p.sess = &sessionDeps{keys: o.Keys, issuer: o.Issuer, sessions: o.Sessions, now: o.Now}
	return p
}

// CheckSession decides whether the role session whose session token is token may
// perform action on resource, for a service that was handed the token (or the
// credentials it belongs to) and asks before acting.
//
// The token is verified offline against our published keys, then the stored session
// (jti = access key id) is loaded: an unknown, revoked or expired session, or one whose
// role was deleted (or deleted and created again) since, is refused with a
// *SessionError wrapping ErrSessionInvalid; a token that does not verify, or that
// disagrees with the stored session, with one wrapping ErrSessionTokenInvalid. Both are
// answered as a deny. Request problems are ErrInvalidRequest, as for Check.
//
// What is evaluated:
//   - the role's policies as they are now (PolicySet), not as they were at issue: a
//     policy change, or a new default version, applies to live sessions at once, as
//     in IAM;
//   - the session layer: the inline session policy stored with the session and the
//     default version of each managed policy passed as a session policy (PolicyArns).
//     Deleting such a managed policy ends the sessions that carry it: evaluating
//     without it could drop a Deny, and evaluating without the session layer would
//     widen the session to the whole role;
//   - the request's condition keys plus those that describe the session (see
//     sessionKeys). A request may not set the latter itself.
func (p *PDP) CheckSession(ctx context.Context, token, action, resource string, reqContext map[string][]string) (Result, error) {
	if p.sess == nil {
		return Result{}, ErrSessionsDisabled
	}
	var probs []error
	if token == "" {
		probs = append(probs, &InputError{Field: "session_token", Msg: "required: the session token of the role credentials to judge"})
	}
	checkAction(&probs, "action", action)
	checkResource(&probs, resource)
	refuseSessionKeys(&probs, reqContext)
	pctx := buildContext(&probs, reqContext)
	if len(probs) > 0 {
		return Result{}, errors.Join(probs...)
	}

	now := p.sess.now()
	claims, serr := p.sess.verify(token, now)
	if serr != nil {
		return Result{}, serr
	}
	rs, role, err := p.liveSession(ctx, claims, now)
	if err != nil {
		return Result{}, err
	}
	set, err := p.PolicySet(ctx, role)
	if err != nil {
		return Result{}, fmt.Errorf("role session %s: %w", rs.ID, err)
	}
	if set.Session, err = p.sessionPolicies(ctx, claims, rs); err != nil {
		return Result{}, err
	}
	if pctx == nil {
		pctx = make(policy.Context, 8+len(rs.Tags))
	}
	sessionKeys(pctx, rs, role)
	principal := policy.Principal{Type: policy.PrincipalPortcullis, ID: claims.Subject, Account: arnAccount(role.ARN)}
	d := p.ev.Evaluate(policy.Request{Action: action, Resource: resource, Principal: principal, Context: pctx}, set)
	return Result{Action: action, Resource: resource, Decision: d, Role: role.ARN, Session: rs.ID}, nil
}

// sessionClaims are the claims CheckSession reads from a session token.
type sessionClaims struct {
	Issuer              string            `json:"iss"`
	Subject             string            `json:"sub"`
	Audience            audience          `json:"aud"`
	Expiry              int64             `json:"exp"`
	NotBefore           int64             `json:"nbf"`
	IssuedAt            int64             `json:"iat"`
	JTI                 string            `json:"jti"`
	Role                string            `json:"role"`
	RoleID              string            `json:"role_id"`
	SessionName         string            `json:"session_name"`
	Tags                map[string]string `json:"tags"`
	SessionPolicyDigest string            `json:"session_policy_digest"`
	SessionPolicyARNs   []string          `json:"session_policy_arns"`
}

// audience is the aud claim: one string or an array of them (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("aud must be a string or an array of strings")
	}
	*a = many
	return nil
}

// verify checks that token is a session token we issued and is within its lifetime.
// The algorithm list is pinned to our keys' algorithms and the key is chosen by kid and
// algorithm together, so neither "none" nor an HMAC keyed with a public key passes
// (RFC 8725 §3.1); the typ check keeps ID tokens, signed with the same keys, from
// passing as session tokens (RFC 9068 §4, RFC 8725 §3.11).
func (s *sessionDeps) verify(token string, now time.Time) (*sessionClaims, *SessionError) {
	if len(token) > maxSessionTokenLen {
		return nil, tokenInvalid("%d bytes", len(token))
	}
	pub := s.keys.PublicKeys()
	algs := make([]jose.SignatureAlgorithm, 0, len(pub))
	for _, k := range pub {
		if a := jose.SignatureAlgorithm(k.Algorithm); !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	// Compact only: RFC 7519 §7.2 defines a JWT as compact, and the JSON forms could
	// carry unprotected headers or several signatures.
	jws, err := jose.ParseSignedCompact(token, algs)
	if err != nil {
		return nil, tokenInvalid("parse: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, tokenInvalid("%d signatures", len(jws.Signatures))
	}
	h := jws.Signatures[0].Protected
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if !strings.EqualFold(typ, typATJWT) && !strings.EqualFold(typ, typATJWTLong) {
		return nil, tokenInvalid("typ %q is not %s", typ, typATJWT)
	}
	// RFC 7797's b64=false would make the signed bytes differ from the payload segment;
	// we never sign with it.
	if _, ok := h.ExtraHeaders["b64"]; ok {
		return nil, tokenInvalid("b64 header parameter")
	}
	// Keys come only from our own key set: jku, jwk, x5u and x5c are never read
	// (RFC 8725 §3.10). kid only selects among our keys.
	i := slices.IndexFunc(pub, func(k keys.Key) bool { return k.ID == h.KeyID && k.Algorithm == h.Algorithm })
	if h.KeyID == "" || i < 0 {
		return nil, tokenInvalid("no published key with kid %q and alg %s", h.KeyID, h.Algorithm)
	}
	payload, err := jws.Verify(pub[i].Public)
	if err != nil {
		return nil, tokenInvalid("signature with key %s: %v", h.KeyID, err)
	}
	var c sessionClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, tokenInvalid("claims: %v", err)
	}
	switch {
	case c.Issuer != s.issuer:
		return nil, c.invalid("iss %q, want %q", c.Issuer, s.issuer)
	case !slices.Contains(c.Audience, SessionTokenAudience):
		return nil, c.invalid("aud %q does not hold %q", []string(c.Audience), SessionTokenAudience)
	case c.JTI == "" || c.Role == "" || c.RoleID == "" || c.Subject == "":
		return nil, c.invalid("jti, sub, role and role_id are required")
	case c.Expiry == 0:
		return nil, c.invalid("no exp")
	case c.NotBefore != 0 && now.Add(SessionClockSkew).Unix() < c.NotBefore:
		return nil, c.invalid("not valid before %d", c.NotBefore)
	case c.IssuedAt != 0 && now.Add(SessionClockSkew).Unix() < c.IssuedAt:
		return nil, c.invalid("issued in the future (%d)", c.IssuedAt)
	case now.Add(-SessionClockSkew).Unix() >= c.Expiry:
		// Genuine but over: the session's answer, not the token's.
		return nil, c.dead("token expired at %d", c.Expiry)
	}
	return &c, nil
}

// liveSession loads the session the token names and the role it acts as, and checks
// that the session is still live and is the one the token describes.
func (p *PDP) liveSession(ctx context.Context, c *sessionClaims, now time.Time) (store.RoleSession, store.Role, error) {
	rs, err := p.sess.sessions.GetRoleSession(ctx, c.JTI)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Swept after expiry, or never stored.
		return rs, store.Role{}, c.dead("not found")
	case err != nil:
		return rs, store.Role{}, fmt.Errorf("load role session %s: %w", c.JTI, err)
	case rs.Revoked:
		return rs, store.Role{}, c.dead("revoked")
	case !now.Before(rs.ExpiresAt):
		return rs, store.Role{}, c.dead("expired at %s", rs.ExpiresAt.UTC().Format(time.RFC3339))
	}
	// Our signature makes a disagreement a store problem or a leaked key, never a
	// caller's mistake; either way the token does not describe this session.
	switch {
	case rs.ID != c.JTI, rs.RoleARN != c.Role, rs.RoleID != c.RoleID, rs.SessionName != c.SessionName:
		return rs, store.Role{}, c.invalid("role, role_id or session_name differ from the stored session")
	case !maps.Equal(rs.Tags, c.Tags):
		return rs, store.Role{}, c.invalid("tags differ from the stored session")
	case !slices.Equal(rs.PolicyARNs, c.SessionPolicyARNs):
		return rs, store.Role{}, c.invalid("session_policy_arns differ from the stored session")
	case rs.SessionPolicyDigest != c.SessionPolicyDigest, (len(rs.SessionPolicy) > 0) != (c.SessionPolicyDigest != ""):
		// The record's digest, not one computed here: the store's JSON encoding may
		// escape characters such as & and < in the stored policy, which changes its
		// bytes but not its meaning.
		return rs, store.Role{}, c.invalid("session_policy_digest differs from the stored session")
	}
	role, err := p.st.GetRoleByARN(ctx, rs.RoleARN)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return rs, store.Role{}, c.dead("role %s no longer exists", rs.RoleARN)
	case err != nil:
		return rs, store.Role{}, fmt.Errorf("role session %s: look up role %s: %w", rs.ID, rs.RoleARN, err)
	case role.ID != rs.RoleID:
		// Deleted and created again under the same ARN: the new role's permissions
		// were never granted to this session (IAM ends such sessions the same way).
		return rs, store.Role{}, c.dead("role %s was replaced (id %s, session issued for %s)", rs.RoleARN, role.ID, rs.RoleID)
	}
	return rs, role, nil
}

// sessionPolicies compiles the session layer: nil when the session was issued without
// session policies (the layer is absent), otherwise a non-empty list.
func (p *PDP) sessionPolicies(ctx context.Context, c *sessionClaims, rs store.RoleSession) ([]*policy.Compiled, error) {
	if len(rs.SessionPolicy) == 0 && len(rs.PolicyARNs) == 0 {
		return nil, nil
	}
	out := make([]*policy.Compiled, 0, 1+len(rs.PolicyARNs))
	if len(rs.SessionPolicy) > 0 {
		// Cached per session: every check of a busy session reuses one compiled form,
		// and the digest in the version makes a reused access key id impossible to
		// confuse with the old one.
		cp, err := p.ev.CompileJSON("session/"+rs.ID, cacheVersion("1", policy.Session, rs.SessionPolicy), policy.Session, rs.SessionPolicy)
		if err != nil {
			return nil, fmt.Errorf("role session %s: inline session policy: %w", rs.ID, err)
		}
		out = append(out, cp)
	}
	for _, arn := range rs.PolicyARNs {
		name, ok := managedPolicyName(arn)
		if !ok {
			return nil, fmt.Errorf("role session %s: session policy ARN %q is not a managed policy ARN", rs.ID, arn)
		}
		cp, err := p.managed(ctx, name, policy.Session)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, c.dead("managed session policy %s no longer exists", arn)
		case err != nil:
			return nil, fmt.Errorf("role session %s: managed session policy %q: %w", rs.ID, name, err)
		}
		out = append(out, cp)
	}
	return out, nil
}

// managedPolicyName is the name in arn:<partition>:iam::<account>:policy[/path]/<name>.
// The account was checked when the session was issued.
func managedPolicyName(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" {
		return "", false
	}
	res, ok := strings.CutPrefix(parts[5], "policy/")
	if !ok {
		return "", false
	}
	name := res[strings.LastIndexByte(res, '/')+1:]
	return name, name != ""
}

// arnAccount is the account field of an ARN, "" when arn is not one.
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

// Condition keys that describe the session, in their portcullis: spelling; each also
// answers to aws: (policy.Context aliases the two namespaces).
const (
	keyUserID         = "portcullis:userid"
	keyUsername       = "portcullis:username"
	keyPrincipalARN   = "portcullis:PrincipalArn"
	keyPrincipalType  = "portcullis:PrincipalType"
	keyPrincipalAcct  = "portcullis:PrincipalAccount"
	keySourceIdentity = "portcullis:SourceIdentity"
	keyTokenIssueTime = "portcullis:TokenIssueTime"
	keyPrincipalTag   = "portcullis:PrincipalTag/"
)

// principalTypeAssumedRole is aws:PrincipalType for a role session, as in IAM.
const principalTypeAssumedRole = "AssumedRole"

// sessionKeys adds the keys that describe the session, as IAM sets them for an
// assumed-role session:
//
//	portcullis:userid           <role id>:<session name>
//	portcullis:PrincipalArn     the role's ARN
//	portcullis:PrincipalType    AssumedRole
//	portcullis:PrincipalAccount the role's account
//	portcullis:SourceIdentity   the session's source identity, when it has one
//	portcullis:TokenIssueTime   when the session was issued (RFC 3339)
//	portcullis:PrincipalTag/<k> each session tag
//
// portcullis:username is deliberately not set, as IAM does not set aws:username for
// role sessions: the session name is chosen by whoever assumes the role, so a policy
// keyed on ${aws:username} (a per-user S3 prefix, say) would let any holder of the
// role pick whose data to read. Policies that need the session name use
// portcullis:userid, whose role-id prefix ties it to the role.
func sessionKeys(ctx policy.Context, rs store.RoleSession, role store.Role) {
	ctx.Set(keyUserID, role.ID+":"+rs.SessionName)
	ctx.Set(keyPrincipalARN, role.ARN)
	ctx.Set(keyPrincipalType, principalTypeAssumedRole)
	if acct := arnAccount(role.ARN); acct != "" {
		ctx.Set(keyPrincipalAcct, acct)
	}
	if rs.SourceIdentity != "" {
		ctx.Set(keySourceIdentity, rs.SourceIdentity)
	}
	if !rs.IssuedAt.IsZero() {
		ctx.Set(keyTokenIssueTime, rs.IssuedAt.UTC().Format(time.RFC3339))
	}
	for k, v := range rs.Tags {
		ctx.Set(keyPrincipalTag+k, v)
	}
}

// sessionOwned are the lower-cased keys sessionKeys owns, plus portcullis:username,
// which it leaves unset on purpose; keys under portcullis:principaltag/ are owned too.
var sessionOwned = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range []string{keyUserID, keyUsername, keyPrincipalARN, keyPrincipalType, keyPrincipalAcct, keySourceIdentity, keyTokenIssueTime} {
		m[strings.ToLower(k)] = true
	}
	return m
}()

// refuseSessionKeys rejects request keys that describe the session: the service asking
// must not be able to tag the session, rename it or give it a username. Either
// spelling (aws: or portcullis:) is refused.
func refuseSessionKeys(probs *[]error, ctx map[string][]string) {
	tagPrefix := strings.ToLower(keyPrincipalTag)
	for _, k := range slices.Sorted(maps.Keys(ctx)) {
		name := strings.ToLower(k)
		if rest, ok := strings.CutPrefix(name, "aws:"); ok {
			name = "portcullis:" + rest
		}
		if sessionOwned[name] || strings.HasPrefix(name, tagPrefix) {
			*probs = append(*probs, &InputError{Field: "context[" + jsonQuote(k) + "]", Msg: "describes the session and is set from it; a request may not supply it"})
		}
	}
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// checkResource requires a resource: an ARN, or "*".
func checkResource(probs *[]error, resource string) {
	if resource == "" {
		*probs = append(*probs, &InputError{Field: "resource", Msg: `required: a resource ARN, or "*" for actions without resource-level scope`})
	}
}
