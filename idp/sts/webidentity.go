package sts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/policy"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/httperr"
)

// Actions decided against the trust policy (SPEC §1.5, §1.6).
const (
	actionAssumeWebIdentity = "sts:AssumeRoleWithWebIdentity"
	actionTagSession        = "sts:TagSession"
	actionSetSourceIdentity = "sts:SetSourceIdentity"
)

// auditAction names the audit events of this operation.
const auditAction = "sts.assume_role_with_web_identity"

type webIdentityResponse struct {
	XMLName  xml.Name          `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleWithWebIdentityResponse"`
	Result   webIdentityResult `xml:"AssumeRoleWithWebIdentityResult"`
	Metadata responseMetadata  `xml:"ResponseMetadata"`
}

func (r *webIdentityResponse) setRequestID(id string) { r.Metadata.RequestID = id }

type webIdentityResult struct {
	Credentials                 credentialsXML  `xml:"Credentials"`
	SubjectFromWebIdentityToken string          `xml:"SubjectFromWebIdentityToken"`
	AssumedRoleUser             assumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize            *int            `xml:"PackedPolicySize,omitempty"`
	Provider                    string          `xml:"Provider"`
	Audience                    string          `xml:"Audience,omitempty"`
	SourceIdentity              string          `xml:"SourceIdentity,omitempty"`
}

type credentialsXML struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	// Expiration is RFC 3339: the SDK fails on epoch seconds (SPEC §1.8).
	Expiration string `xml:"Expiration"`
}

type assumedRoleUser struct {
	Arn           string `xml:"Arn"`
	AssumedRoleID string `xml:"AssumedRoleId"`
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

// attempt is what is known about one request as it goes, for the audit trail.
type attempt struct {
	// action names the request's audit events: auditAction, or auditTokenExchange.
	action string
	req    webIdentityRequest
	// roleName is the role asked for by name (token exchange's scope role:<name>),
	// until the role is found.
	roleName string
	identity *Identity
	sourceIP string
}

func (a *attempt) actor() string {
	if a.identity == nil {
		return "anonymous"
	}
	return a.identity.Subject
}

func (a *attempt) details() map[string]string {
	d := map[string]string{}
	if a.req.sessionName != "" {
		d["session_name"] = a.req.sessionName
	}
	if a.roleName != "" {
		d["role_name"] = a.roleName
	}
	if a.identity != nil {
		d["provider"] = a.identity.Issuer
	}
	return d
}

// assumeRoleWithWebIdentity runs the whole exchange; every outcome is audited.
func (s *Service) assumeRoleWithWebIdentity(ctx context.Context, p params, sourceIP string) (*webIdentityResponse, error) {
	a := &attempt{action: auditAction, sourceIP: sourceIP}
	resp, err := s.exchange(ctx, p, a)
	if err != nil {
		s.recordRefusal(ctx, a, err)
		return nil, err
	}
	return resp, nil
}

func (s *Service) exchange(ctx context.Context, p params, a *attempt) (*webIdentityResponse, error) {
	req, err := parseWebIdentityRequest(p, s.account)
	a.req = req
	if err != nil {
		return nil, err
	}
	v, err := s.verifyWebIdentity(ctx, a)
	if err != nil {
		return nil, err
	}
	role, err := s.findRole(ctx, req.roleARN, "")
	if err != nil {
		return nil, err
	}
	m, err := s.grantWebIdentity(ctx, a, role, v)
	if err != nil {
		return nil, err
	}

	res := webIdentityResult{
		Credentials:                 m.credentials,
		SubjectFromWebIdentityToken: v.id.Subject,
		AssumedRoleUser:             m.user,
		Provider:                    v.id.Issuer,
		SourceIdentity:              v.id.SourceIdentity,
	}
	if len(v.id.Audience) > 0 {
		res.Audience = v.id.Audience[0]
	}
	if v.packed > 0 {
		pct := packedPercent(v.packed)
		res.PackedPolicySize = &pct
	}
	return &webIdentityResponse{Result: res}, nil
}

// verifiedIdentity is a web identity checked for use in a role session.
type verifiedIdentity struct {
	id       *Identity
	provider string
	// packed is the packed size of the request's session policies and the identity's
	// session tags.
	packed int
}

// verifyWebIdentity has a.req.token verified and checks what the identity brings into
// a session: its session tags and source identity, and the ProviderId of the request
// when it has one. AssumeRoleWithWebIdentity and token exchange share it.
func (s *Service) verifyWebIdentity(ctx context.Context, a *attempt) (verifiedIdentity, error) {
	id, err := s.verifier.VerifyWebIdentity(ctx, a.req.token)
	if err != nil {
		return verifiedIdentity{}, verifierError(err)
	}
	a.identity = &id
	provider := providerName(id.Issuer)
	if id.Subject == "" || provider == "" {
		return verifiedIdentity{}, verifierError(fmt.Errorf("%w: verified identity lacks an issuer or a subject", ErrInvalidIdentityToken))
	}
	// ProviderId is for OAuth 2.0 providers (SPEC §1.2); with an OIDC token it may only
	// repeat the issuer.
	if pid := a.req.providerID; pid != "" && pid != id.Issuer && providerName(pid) != provider {
		return verifiedIdentity{}, validationError("ProviderId does not match the issuer of the web identity token.")
	}
	tagSize, err := checkSessionTags(id.Tags)
	if err != nil {
		return verifiedIdentity{}, err
	}
	if id.SourceIdentity != "" && (len(id.SourceIdentity) < 2 || len(id.SourceIdentity) > 64 || !validSessionName(id.SourceIdentity)) {
		return verifiedIdentity{}, validationError("The source identity in the web identity token must be 2 to 64 characters of " + sessionNameFormat + ".")
	}
	packed := a.req.packedSize() + tagSize
	if packed > maxPackedPolicy {
		return verifiedIdentity{}, packedTooLarge(packed)
	}
	return verifiedIdentity{id: &id, provider: provider, packed: packed}, nil
}

// findRole looks a role up by ARN, or by name (case-insensitively) when arn is "". A
// role that does not exist gets the same answer as a trust denial: a token holder
// learns nothing about which roles exist.
func (s *Service) findRole(ctx context.Context, arn, name string) (store.Role, error) {
	var role store.Role
	var err error
	what := arn
	if arn != "" {
		role, err = s.st.GetRoleByARN(ctx, arn)
	} else {
		what = "named " + name
		role, err = s.st.GetRoleByName(ctx, name)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Role{}, accessDenied(fmt.Errorf("role %s does not exist", what))
	case err != nil:
		return store.Role{}, internalError(fmt.Errorf("look up role %s: %w", what, err))
	}
	return role, nil
}

// grantWebIdentity decides the role's trust policy for the verified identity, applies
// the session duration and the managed session policies, and mints, stores and audits
// the session.
func (s *Service) grantWebIdentity(ctx context.Context, a *attempt, role store.Role, v verifiedIdentity) (*minted, error) {
	if err := s.checkTrust(role, v.id, v.provider, a.req, a.sourceIP); err != nil {
		return nil, err
	}
	duration, err := sessionDuration(a.req.duration, role.MaxSessionDuration)
	if err != nil {
		return nil, err
	}
	if err := s.checkManagedPolicies(ctx, &a.req.sessionRequest); err != nil {
		return nil, err
	}
	return s.issue(ctx, a, role, v.id, v.provider, duration)
}

// checkManagedPolicies checks that every managed session policy named exists.
func (s *Service) checkManagedPolicies(ctx context.Context, req *sessionRequest) error {
	for i, name := range req.policyNames {
		if _, err := s.st.GetManagedPolicy(ctx, name); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return validationError(fmt.Sprintf("Policy %s does not exist or is not attachable.", clip(req.policyARNs[i], 128)))
			}
			return internalError(fmt.Errorf("look up session policy %s: %w", name, err))
		}
	}
	return nil
}

// checkTrust decides the role's trust policy for every action the request needs:
// sts:AssumeRoleWithWebIdentity, plus sts:TagSession when the token carries tags and
// sts:SetSourceIdentity when it carries a source identity (SPEC §1.6). The client
// hears only AccessDenied; the log and the audit trail get the reason.
func (s *Service) checkTrust(role store.Role, id *Identity, provider string, req webIdentityRequest, sourceIP string) error {
	cond := s.trustContext(id, provider, req.sessionName, sourceIP)
	return s.checkFederatedTrust(role, s.principalNames(provider), actionAssumeWebIdentity, id, cond, accessDenied)
}

// checkFederatedTrust decides the role's trust policy for a federated principal under
// names: the assume action, plus sts:TagSession and sts:SetSourceIdentity when the
// identity carries tags or a source identity. deny makes the client's answer.
func (s *Service) checkFederatedTrust(role store.Role, names []string, assume string, id *Identity, cond policy.Context, deny func(error) *httperr.Error) error {
	trust, err := s.trustPolicy(role)
	if err != nil {
		return deny(err)
	}
	actions := []string{assume}
	if len(id.Tags) > 0 {
		actions = append(actions, actionTagSession)
	}
	if id.SourceIdentity != "" {
		actions = append(actions, actionSetSourceIdentity)
	}
	for _, action := range actions {
		d := s.decideTrust(trust, policy.PrincipalFederated, names, action, cond)
		if d.Effect != policy.Allow {
			return deny(&trustDenial{role: role.ARN, action: action, decision: d})
		}
	}
	return nil
}

// trustPolicy compiles the role's trust policy, cached by the evaluator.
func (s *Service) trustPolicy(role store.Role) (*policy.Compiled, error) {
	if len(role.TrustPolicy) == 0 {
		return nil, fmt.Errorf("role %s has no trust policy", role.ARN)
	}
	trust, err := s.ev.CompileJSON("role/"+role.ID+"/trust", cacheVersion(role.Version, role.TrustPolicy), policy.Trust, role.TrustPolicy)
	if err != nil {
		return nil, fmt.Errorf("role %s: trust policy does not compile: %w", role.ARN, err)
	}
	return trust, nil
}

// trustDenial is the internal cause of a trust refusal.
type trustDenial struct {
	role     string
	action   string
	decision policy.Decision
}

func (e *trustDenial) Error() string {
	var refs []string
	for _, r := range e.decision.Deciding {
		refs = append(refs, fmt.Sprintf("%+v", r))
	}
	msg := fmt.Sprintf("trust policy of %s denies %s: %s", e.role, e.action, e.decision.Reason)
	if len(refs) > 0 {
		msg += " (" + strings.Join(refs, ", ") + ")"
	}
	return msg
}

// decideTrust evaluates the trust policy with the principal under each of its names:
// a statement may name a provider by ARN (either partition) or by bare host/path as
// AWS's built-in providers are, and a role session by its assumed-role ARN or its
// role's ARN. Principals match exactly, so each name is one evaluation. An explicit
// Deny under any name wins; otherwise any allowing name allows.
func (s *Service) decideTrust(trust *policy.Compiled, principalType string, names []string, action string, cond policy.Context) policy.Decision {
	var allowed *policy.Decision
	var last policy.Decision
	for _, n := range names {
		d := s.ev.EvaluateTrust(trust, policy.Principal{Type: principalType, ID: n}, action, cond)
		if d.Explicit {
			return d
		}
		if d.Effect == policy.Allow && allowed == nil {
			allowed = &d
		}
		last = d
	}
	if allowed != nil {
		return *allowed
	}
	return last
}

func (s *Service) principalNames(provider string) []string {
	return []string{
		"arn:portcullis:iam::" + s.account + ":oidc-provider/" + provider,
		"arn:aws:iam::" + s.account + ":oidc-provider/" + provider,
		provider,
	}
}

// reservedKeyPrefixes are namespaces only the service fills (see the package doc).
var reservedKeyPrefixes = []string{"aws:", "portcullis:", "sts:", "saml:"}

// trustContext builds the condition keys of the trust decision.
func (s *Service) trustContext(id *Identity, provider, sessionName, sourceIP string) policy.Context {
	c := policy.Context{}
	for k, v := range id.ConditionKeys {
		lk := strings.ToLower(k)
		if slices.ContainsFunc(reservedKeyPrefixes, func(p string) bool { return strings.HasPrefix(lk, p) }) {
			continue
		}
		c.Set(k, slices.Clone(v)...)
	}
	// The generic OIDC keys (SPEC §1.7) are always there, even from a verifier that
	// maps no claims.
	if c.Get(provider+":sub") == nil {
		c.Set(provider+":sub", id.Subject)
	}
	if c.Get(provider+":aud") == nil && len(id.Audience) > 0 {
		c.Set(provider+":aud", slices.Clone(id.Audience)...)
	}
	c.Set("sts:RoleSessionName", sessionName)
	if id.SourceIdentity != "" {
		c.Set("sts:SourceIdentity", id.SourceIdentity)
	}
	c.Set("portcullis:FederatedProvider", s.principalNames(provider)[0])
	if sourceIP != "" {
		c.Set("portcullis:SourceIp", sourceIP)
	}
	if len(id.Tags) > 0 {
		tagKeys := slices.Sorted(maps.Keys(id.Tags))
		for _, k := range tagKeys {
			c.Set("portcullis:RequestTag/"+k, id.Tags[k])
		}
		c.Set("portcullis:TagKeys", tagKeys...)
	}
	return c
}

// cacheVersion labels a role's trust policy in the evaluator's cache: the role's
// Version alone could repeat for a role deleted and created again under the same id,
// so the document's digest is part of it.
func cacheVersion(version int64, doc []byte) string {
	sum := sha256.Sum256(doc)
	return strconv.FormatInt(version, 10) + "/trust/" + hex.EncodeToString(sum[:16])
}

// sessionDuration applies DurationSeconds to the role's MaxSessionDuration (SPEC
// §1.2): the default is an hour, or the role's maximum when that is shorter.
func sessionDuration(requested, roleMax time.Duration) (time.Duration, error) {
	if roleMax <= 0 {
		roleMax = store.DefaultRoleSessionDuration
	}
	roleMax = min(max(roleMax, store.MinRoleSessionDuration), store.MaxRoleSessionDuration)
	if requested == 0 {
		return min(store.DefaultRoleSessionDuration, roleMax), nil
	}
	if requested > roleMax {
		return 0, validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	return requested, nil
}

// checkSessionTags applies the tag limits (SPEC §1.6) and returns the tags' share of
// the packed size.
func checkSessionTags(tags map[string]string) (int, error) {
	if len(tags) > maxSessionTags {
		return 0, validationError(fmt.Sprintf("The web identity token carries %d session tags; at most %d are allowed.", len(tags), maxSessionTags))
	}
	seen := map[string]bool{}
	size := 0
	for k, v := range tags {
		if k == "" || len([]rune(k)) > maxTagKey || len([]rune(v)) > maxTagValue {
			return 0, validationError(fmt.Sprintf("Session tag keys must be 1 to %d characters and values at most %d.", maxTagKey, maxTagValue))
		}
		// Tag keys are compared case-insensitively (SPEC §1.6).
		lk := strings.ToLower(k)
		if seen[lk] {
			return 0, validationError("The web identity token carries two session tags whose keys differ only in case.")
		}
		seen[lk] = true
		size += len(k) + len(v)
	}
	return size, nil
}

// providerName is the issuer without its scheme or trailing slash: the prefix of its
// condition keys and the name in its provider ARN (SPEC §1.7).
func providerName(issuer string) string {
	p := issuer
	if i := strings.Index(p, "://"); i >= 0 {
		p = p[i+3:]
	}
	return strings.TrimRight(p, "/")
}

func (s *Service) recordRefusal(ctx context.Context, a *attempt, err error) {
	s.recordRefused(ctx, a.action, a.actor(), a.req.roleARN, a.sourceIP, a.details(), err)
}

// recordRefused audits a refused request of an Assume* action: Denied for a 403,
// Failure otherwise, with the internal cause as the reason.
func (s *Service) recordRefused(ctx context.Context, action, actor, target, sourceIP string, d map[string]string, err error) {
	outcome, code, reason := audit.Failure, "", err.Error()
	if he := asHTTPError(err); he != nil {
		code = he.Code
		if he.Status == http.StatusForbidden {
			outcome = audit.Denied
		}
		if he.Err != nil {
			reason = he.Err.Error()
		} else {
			reason = he.Msg
		}
	}
	d["code"] = code
	s.audit.Record(ctx, audit.Event{
		Actor: actor, Action: action, Target: target, Outcome: outcome,
		Reason: reason, RequestID: audit.RequestIDFrom(ctx), SourceIP: sourceIP, Details: d,
	})
}
