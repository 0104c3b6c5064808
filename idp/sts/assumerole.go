package sts

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/policy"
	"github.com/portcullis-id/portcullis/store"
)

const (
	actionAssumeRole = "sts:AssumeRole"
	// auditAssumeRole names the audit events of AssumeRole.
	auditAssumeRole = "sts.assume_role"
	// maxChainedDuration: AWS caps a session obtained by role chaining at one hour,
	// whatever the role's MaxSessionDuration. Every AssumeRole here is chained: only
	// role sessions hold credentials that sign.
	maxChainedDuration = time.Hour
	minExternalID      = 2
	maxExternalID      = 1224
	externalIDFormat   = `[\w+=,.@:/-]*`
)

// unsupportedAssumeRoleParams are AssumeRole parameters this service does not
// implement. They are refused rather than ignored: a caller sending MFA fields or
// session tags expects them to take effect.
var unsupportedAssumeRoleParams = []string{"SerialNumber", "TokenCode", "Tags.member.", "TransitiveTagKeys.member.", "ProvidedContexts.member."}

type assumeRoleResponse struct {
	XMLName  xml.Name         `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
	Result   assumeRoleResult `xml:"AssumeRoleResult"`
	Metadata responseMetadata `xml:"ResponseMetadata"`
}

func (r *assumeRoleResponse) setRequestID(id string) { r.Metadata.RequestID = id }

type assumeRoleResult struct {
	Credentials      credentialsXML  `xml:"Credentials"`
	AssumedRoleUser  assumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize *int            `xml:"PackedPolicySize,omitempty"`
	SourceIdentity   string          `xml:"SourceIdentity,omitempty"`
}

// assumeRoleRequest is a checked AssumeRole request.
type assumeRoleRequest struct {
	sessionRequest
	externalID     string
	sourceIdentity string
}

// parseAssumeRoleRequest checks the parameters as parseWebIdentityRequest does, with
// ExternalId and SourceIdentity in place of the token.
func parseAssumeRoleRequest(p params, account string) (assumeRoleRequest, error) {
	var req assumeRoleRequest
	var v validation
	f := &formReader{p: p}
	var sp sessionParams
	req.sessionRequest, sp = readSessionRequest(f, &v, account)
	req.externalID = f.get("ExternalId")
	req.sourceIdentity = f.get("SourceIdentity")
	if f.err != nil {
		return req, f.err
	}
	for name := range p.form {
		for _, u := range unsupportedAssumeRoleParams {
			if name == u || (strings.HasSuffix(u, ".") && strings.HasPrefix(name, u)) {
				return req, validationError(fmt.Sprintf("Parameter %s is not supported by this service.", clip(name, 64)))
			}
		}
	}
	if sp.policySet && len(sp.policy) > maxPolicyPlain {
		return req, packedTooLarge(len(sp.policy))
	}
	if len(p.form["ExternalId"]) > 0 {
		v.lengthIn("externalId", req.externalID, minExternalID, maxExternalID)
		if !validExternalID(req.externalID) {
			v.add("Value at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", externalIDFormat)
		}
	}
	if len(p.form["SourceIdentity"]) > 0 {
		v.lengthIn("sourceIdentity", req.sourceIdentity, minSessionName, maxSessionName)
		if !validSessionName(req.sourceIdentity) {
			v.add("Value '%s' at 'sourceIdentity' failed to satisfy constraint: Member must satisfy regular expression pattern: %s",
				clip(req.sourceIdentity, maxSessionName), sessionNameFormat)
		}
	}
	if err := v.err(); err != nil {
		return req, err
	}
	return req, req.finish(sp)
}

// validExternalID checks [\w+=,.@:/-]*.
func validExternalID(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != ':' && s[i] != '/' && !validSessionName(s[i:i+1]) {
			return false
		}
	}
	return true
}

// chainAttempt is what is known about one AssumeRole request as it goes, for the
// audit trail.
type chainAttempt struct {
	req      assumeRoleRequest
	caller   *caller
	callerID string
	sourceIP string
}

func (a *chainAttempt) details() map[string]string {
	d := map[string]string{}
	if a.req.sessionName != "" {
		d["session_name"] = a.req.sessionName
	}
	if a.caller != nil {
		d["caller_access_key_id"] = a.caller.session.ID
		d["caller_role"] = a.caller.session.RoleARN
		d["subject"] = a.caller.session.Subject
		d["provider"] = a.caller.session.Issuer
	}
	return d
}

func (a *chainAttempt) actor() string {
	if a.caller == nil {
		return "anonymous"
	}
	return a.callerID
}

// assumeRole runs AssumeRole signed with role credentials this service issued (role
// chaining); every outcome is audited.
func (s *Service) assumeRole(ctx context.Context, r *http.Request, body []byte, p params) (*assumeRoleResponse, error) {
	a := &chainAttempt{sourceIP: clientIP(r)}
	resp, err := s.chain(ctx, r, body, p, a)
	if err != nil {
		s.recordRefused(ctx, auditAssumeRole, a.actor(), a.req.roleARN, a.sourceIP, a.details(), err)
		return nil, err
	}
	return resp, nil
}

func (s *Service) chain(ctx context.Context, r *http.Request, body []byte, p params, a *chainAttempt) (*assumeRoleResponse, error) {
	c, err := s.authenticate(ctx, r, body)
	if err != nil {
		return nil, err
	}
	a.caller, a.callerID = c, s.callerARN(c)
	req, err := parseAssumeRoleRequest(p, s.account)
	a.req = req
	if err != nil {
		return nil, err
	}
	denied := func(cause error) error {
		return notAuthorized(actionAssumeRole, cause)
	}

	// A source identity, once set, stays for the whole chain (AWS: it cannot be
	// changed); a session without one may set it now.
	sourceIdentity := explicitSourceIdentity(c.session)
	switch {
	case sourceIdentity == "":
		sourceIdentity = req.sourceIdentity
	case req.sourceIdentity != "" && req.sourceIdentity != sourceIdentity:
		return nil, notAuthorized(actionSetSourceIdentity,
			fmt.Errorf("source identity %q of the calling session cannot become %q", sourceIdentity, req.sourceIdentity))
	}

	// Transitive session tags pass on, and stay transitive (AWS role chaining).
	tags := map[string]string{}
	for _, k := range c.claims.TransitiveTagKeys {
		if v, ok := c.session.Tags[k]; ok {
			tags[k] = v
		}
	}
	transitive := slices.Sorted(maps.Keys(tags))
	packed := req.packedSize()
	for k, v := range tags {
		packed += len(k) + len(v)
	}
	if packed > maxPackedPolicy {
		return nil, packedTooLarge(packed)
	}

	role, err := s.st.GetRoleByARN(ctx, req.roleARN)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, denied(fmt.Errorf("role %s does not exist", req.roleARN))
	case err != nil:
		return nil, internalError(fmt.Errorf("look up role %s: %w", req.roleARN, err))
	}
	trust, err := s.trustPolicy(role)
	if err != nil {
		return nil, denied(err)
	}
	cond := s.chainTrustContext(c, req, sourceIdentity, tags, a.sourceIP)
	names := s.sessionPrincipalNames(c)
	actions := []string{actionAssumeRole}
	if len(tags) > 0 {
		actions = append(actions, actionTagSession)
	}
	if sourceIdentity != "" {
		actions = append(actions, actionSetSourceIdentity)
	}
	for _, action := range actions {
		d := s.decideTrust(trust, policy.PrincipalPortcullis, names, action, cond)
		if d.Effect != policy.Allow {
			return nil, notAuthorized(action, &trustDenial{role: role.ARN, action: action, decision: d})
		}
	}

	if req.duration > maxChainedDuration {
		return nil, validationError("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	duration, err := sessionDuration(req.duration, role.MaxSessionDuration)
	if err != nil {
		return nil, err
	}
	if err := s.checkManagedPolicies(ctx, &req.sessionRequest); err != nil {
		return nil, err
	}

	recorded := sourceIdentity
	if recorded == "" {
		recorded = c.session.SourceIdentity
	}
	m, err := s.mint(ctx, grant{
		role: role, req: &req.sessionRequest, duration: duration,
		subject: c.session.Subject, provider: c.session.Issuer, sourceIdentity: recorded,
		tags: tags, transitiveTagKeys: transitive,
		event: audit.Event{
			Actor: a.callerID, Action: auditAssumeRole, Target: role.ARN, Outcome: audit.Success,
			RequestID: audit.RequestIDFrom(ctx), SourceIP: a.sourceIP, Details: a.details(),
		},
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("role credentials issued", "request_id", audit.RequestIDFrom(ctx), "role", role.ARN,
		"session", req.sessionName, "caller", a.callerID, "caller_access_key_id", c.session.ID,
		"access_key_id", m.session.ID, "expires_at", m.session.ExpiresAt)

	res := assumeRoleResult{Credentials: m.credentials, AssumedRoleUser: m.user, SourceIdentity: sourceIdentity}
	if packed > 0 {
		pct := packedPercent(packed)
		res.PackedPolicySize = &pct
	}
	return &assumeRoleResponse{Result: res}, nil
}

// explicitSourceIdentity is the session's source identity when one was set. A
// RoleSession records the web identity's subject when none was, so a recorded value
// equal to the subject counts as unset.
func explicitSourceIdentity(rs store.RoleSession) string {
	if rs.SourceIdentity == rs.Subject {
		return ""
	}
	return rs.SourceIdentity
}

// sessionPrincipalNames are the names a trust policy may give the calling session:
// its assumed-role ARN or its role's ARN, each in our partition or AWS's. Account
// principals ("123456789012", ":root") are not among them: in AWS they delegate to the
// caller's permission policies, which this service does not evaluate, so they grant
// role chaining to no one here.
func (s *Service) sessionPrincipalNames(c *caller) []string {
	session := s.callerARN(c)
	names := []string{session, c.session.RoleARN}
	for _, n := range []string{session, c.session.RoleARN} {
		if rest, ok := strings.CutPrefix(n, "arn:portcullis:"); ok {
			names = append(names, "arn:aws:"+rest)
		}
	}
	return names
}

// chainTrustContext builds the condition keys of an AssumeRole trust decision.
func (s *Service) chainTrustContext(c *caller, req assumeRoleRequest, sourceIdentity string, tags map[string]string, sourceIP string) policy.Context {
	cond := policy.Context{}
	cond.Set("sts:RoleSessionName", req.sessionName)
	if req.externalID != "" {
		cond.Set("sts:ExternalId", req.externalID)
	}
	if sourceIdentity != "" {
		cond.Set("sts:SourceIdentity", sourceIdentity)
	}
	// aws:PrincipalArn of a role session is its role's ARN.
	cond.Set("portcullis:PrincipalArn", c.session.RoleARN)
	cond.Set("portcullis:PrincipalAccount", s.account)
	cond.Set("portcullis:userid", c.session.RoleID+":"+c.session.SessionName)
	for k, v := range c.session.Tags {
		cond.Set("portcullis:PrincipalTag/"+k, v)
	}
	if len(tags) > 0 {
		keys := slices.Sorted(maps.Keys(tags))
		for _, k := range keys {
			cond.Set("portcullis:RequestTag/"+k, tags[k])
		}
		cond.Set("portcullis:TagKeys", keys...)
		cond.Set("sts:TransitiveTagKeys", keys...)
	}
	if sourceIP != "" {
		cond.Set("portcullis:SourceIp", sourceIP)
	}
	return cond
}
