package sts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/web/httperr"
)

// GrantTypeTokenExchange is the grant_type of an RFC 8693 token exchange request
// (§2.1). The token endpoint hands requests of this grant type to TokenExchange.
const GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// Token type identifiers (RFC 8693 §3).
const (
	TokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeSAML1       = "urn:ietf:params:oauth:token-type:saml1"
	tokenTypeSAML2       = "urn:ietf:params:oauth:token-type:saml2"
)

const (
	// auditTokenExchange names the audit events of token exchange.
	auditTokenExchange = "sts.token_exchange"
	// scopeRolePrefix starts the one scope token exchange offers: role:<role name>.
	scopeRolePrefix = "role:"
	// maxRoleName is IAM's limit on role names; they use the session-name characters.
	maxRoleName = 64
	// sessionNameDigest is how many hex characters of the subject's SHA-256 end a
	// session name derived from a subject that is not one as it stands.
	sessionNameDigest = 16
)

// OAuth 2.0 error codes of the token endpoint (RFC 6749 §5.2, RFC 8693 §2.2.2).
const (
	oauthInvalidRequest       = "invalid_request"
	oauthInvalidGrant         = "invalid_grant"
	oauthInvalidScope         = "invalid_scope"
	oauthInvalidTarget        = "invalid_target"
	oauthUnsupportedGrantType = "unsupported_grant_type"
	oauthServerError          = "server_error"

	// msgInvalidGrant answers every failure of the subject token or of the trust
	// decision alike: which check failed goes to the log and the audit trail only.
	msgInvalidGrant = "The subject token is not valid or does not permit the requested role."
)

// TokenExchangeResponse is the body of a successful token exchange (RFC 8693 §2.2.1).
// AccessToken is the role session's token; the last three fields are Portcullis
// extensions (§2.2.1 allows further parameters) carrying the key pair that signs AWS
// Signature Version 4 requests, which the session token alone cannot.
type TokenExchangeResponse struct {
	// AccessToken is the session token: a JWT in the RFC 9068 profile whose claims are
	// SessionClaims (sub is the assumed-role ARN, role the role's ARN).
	AccessToken string `json:"access_token"`
	// IssuedTokenType is always TokenTypeAccessToken.
	IssuedTokenType string `json:"issued_token_type"`
	// TokenType is "Bearer".
	TokenType string `json:"token_type"`
	// ExpiresIn is the session's lifetime in seconds.
	ExpiresIn int64 `json:"expires_in"`
	// AccessKeyID is the session's access key id (PCIA...), the token's jti.
	AccessKeyID string `json:"access_key_id"`
	// SecretAccessKey signs requests with AccessKeyID and AccessToken as the session
	// token.
	SecretAccessKey string `json:"secret_access_key"`
	// Expiration is when the session ends, RFC 3339 in UTC.
	Expiration string `json:"expiration"`
}

// LogValue keeps the token and the secret out of logs.
func (r TokenExchangeResponse) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key_id", r.AccessKeyID),
		slog.String("expiration", r.Expiration),
		slog.String("access_token", "REDACTED"),
		slog.String("secret_access_key", "REDACTED"),
	)
}

// oauthErrorBody is the error shape of RFC 6749 §5.2.
type oauthErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// TokenExchange serves an RFC 8693 token exchange at the OAuth token endpoint: a web
// identity token from a trusted issuer (SPEC §1.6) is exchanged for role credentials,
// with every check AssumeRoleWithWebIdentity makes: the token is verified, the role's
// trust policy must allow sts:AssumeRoleWithWebIdentity (and sts:TagSession and
// sts:SetSourceIdentity when the token carries tags or a source identity) for the
// token's provider, and the session is minted, stored as a RoleSession and audited as
// sts.token_exchange. Refusals are audited too.
//
// The request is a POST form with grant_type GrantTypeTokenExchange and:
//
//	subject_token         required: the web identity token
//	subject_token_type    required: TokenTypeJWT or TokenTypeIDToken; SAML is not
//	                      supported yet
//	resource, audience    a role ARN of this service's account
//	scope                 role:<role name>
//	requested_token_type  optional; only TokenTypeAccessToken
//
// The role is named by resource, audience or scope, together exactly one role: none,
// two different ones or a malformed one is invalid_target; any other scope value is
// invalid_scope. A well-formed role ARN or name that matches no role is answered as a
// trust denial (invalid_grant), so that a token holder cannot probe which roles exist.
//
// The RFC leaves some choices to the server; these are Portcullis's:
//   - Client authentication is not asked for and is ignored when present: the subject
//     token is the credential, as for the unsigned AssumeRoleWithWebIdentity (SPEC
//     §1.1).
//   - Delegation is not supported: a request with actor_token or actor_token_type is
//     invalid_request.
//   - The role session name, which the RFC has no parameter for, is derived from the
//     token's subject (see sessionNameFor); trust policies see it as
//     sts:RoleSessionName. Unknown parameters are ignored (RFC 6749 §3.2), a
//     role_session_name among them.
//   - The lifetime is the role's default, an hour or the role's MaxSessionDuration
//     when that is shorter: the RFC has no duration parameter.
//   - The issued token is the session token (issued_token_type access_token,
//     token_type Bearer); the response adds access_key_id, secret_access_key and
//     expiration (TokenExchangeResponse).
//   - A subject token that fails verification, has expired, is rejected, or is not
//     trusted by the role is invalid_grant with one and the same description. RFC
//     8693 §2.2.2 names invalid_request for an unacceptable subject token; invalid_grant
//     (RFC 6749 §5.2) keeps a client's parameter mistakes apart from a refused
//     credential.
//   - A parameter given twice is invalid_request (RFC 6749 §3.2), except resource and
//     audience, which may repeat (RFC 8693 §2.1) but must then name the same role.
//
// Responses carry Cache-Control: no-store. The request id is taken from the context
// (audit.WithRequestID, set by the server's middleware) or made here and sent in
// X-Request-Id.
func (s *Service) TokenExchange(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if audit.RequestIDFrom(ctx) == "" {
		id, err := s.requestID()
		if err != nil {
			s.writeOAuthError(w, r, oauthError(internalError(err)))
			return
		}
		ctx = audit.WithRequestID(ctx, id)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.writeOAuthError(w, r, oauthErr(http.StatusMethodNotAllowed, oauthInvalidRequest, "",
			"The token endpoint accepts POST only.", nil))
		return
	}
	a := &attempt{action: auditTokenExchange, sourceIP: clientIP(r)}
	resp, err := s.tokenExchange(w, r, a)
	if err != nil {
		s.recordRefusal(ctx, a, err)
		s.writeOAuthError(w, r, oauthError(err))
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Service) tokenExchange(w http.ResponseWriter, r *http.Request, a *attempt) (*TokenExchangeResponse, error) {
	ctx := r.Context()
	form, err := tokenExchangeForm(w, r)
	if err != nil {
		return nil, err
	}
	req, err := parseTokenExchangeRequest(form, s.account)
	a.req.roleARN, a.roleName, a.req.token = req.roleARN, req.roleName, req.subjectToken
	if err != nil {
		return nil, err
	}

	v, err := s.verifyWebIdentity(ctx, a)
	if err != nil {
		return nil, err
	}
	a.req.sessionName = sessionNameFor(v.id.Subject)
	role, err := s.findRole(ctx, req.roleARN, req.roleName)
	if err != nil {
		return nil, err
	}
	a.req.roleARN, a.roleName = role.ARN, ""
	m, err := s.grantWebIdentity(ctx, a, role, v)
	if err != nil {
		return nil, err
	}
	return &TokenExchangeResponse{
		AccessToken:     m.credentials.SessionToken,
		IssuedTokenType: TokenTypeAccessToken,
		TokenType:       "Bearer",
		ExpiresIn:       int64(m.session.ExpiresAt.Sub(m.session.IssuedAt) / time.Second),
		AccessKeyID:     m.credentials.AccessKeyID,
		SecretAccessKey: m.credentials.SecretAccessKey,
		Expiration:      m.credentials.Expiration,
	}, nil
}

// tokenExchangeForm reads the request body, bounded, as the form RFC 8693 §2.1
// requires. Parameters in the URL's query are not read: a token belongs in the body.
// A form the token endpoint has parsed already is used as it is.
func tokenExchangeForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("", "The request body must be application/x-www-form-urlencoded.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	if err := r.ParseForm(); err != nil {
		return nil, oauthErr(http.StatusBadRequest, oauthInvalidRequest, "",
			"The request body is not a valid form or is too large.", err)
	}
	return r.PostForm, nil
}

// tokenExchangeRequest is a checked token exchange request.
type tokenExchangeRequest struct {
	subjectToken string
	// roleARN and roleName name the requested role; when both are set they name it
	// alike (the ARN's last segment is the name).
	roleARN  string
	roleName string
}

// singleParams are the parameters that may appear once (RFC 6749 §3.2); resource and
// audience may repeat (RFC 8693 §2.1).
var singleParams = []string{
	"grant_type", "subject_token", "subject_token_type", "actor_token", "actor_token_type",
	"requested_token_type", "scope",
}

// parseTokenExchangeRequest checks every parameter that needs no token, role or store,
// so that a request the client must fix fails before its token is spent (a verifier
// with a replay cache accepts each token once).
func parseTokenExchangeRequest(form url.Values, account string) (tokenExchangeRequest, error) {
	var req tokenExchangeRequest
	for _, name := range singleParams {
		if n := len(form[name]); n > 1 {
			return req, invalidRequest(name, fmt.Sprintf("Parameter %s was given %d times; give it once.", name, n))
		}
	}
	switch gt := form.Get("grant_type"); gt {
	case GrantTypeTokenExchange:
	case "":
		return req, invalidRequest("grant_type", "Parameter grant_type is required.")
	default:
		return req, oauthErr(http.StatusBadRequest, oauthUnsupportedGrantType, "grant_type",
			fmt.Sprintf("Grant type %s is not served here.", clip(gt, 128)), nil)
	}
	if _, ok := form["actor_token"]; ok {
		return req, invalidRequest("actor_token", "Parameter actor_token is not accepted: delegation is not supported.")
	}
	if _, ok := form["actor_token_type"]; ok {
		return req, invalidRequest("actor_token_type", "Parameter actor_token_type is not accepted: delegation is not supported.")
	}

	req.subjectToken = form.Get("subject_token")
	switch {
	case req.subjectToken == "":
		return req, invalidRequest("subject_token", "Parameter subject_token is required.")
	case len(req.subjectToken) > maxToken:
		// SPEC §10: cap a token's size before anything parses it.
		return req, invalidRequest("subject_token", fmt.Sprintf("Parameter subject_token is longer than %d bytes.", maxToken))
	}
	switch tt := form.Get("subject_token_type"); tt {
	case TokenTypeJWT, TokenTypeIDToken:
	case "":
		return req, invalidRequest("subject_token_type", "Parameter subject_token_type is required.")
	case tokenTypeSAML1, tokenTypeSAML2:
		return req, invalidRequest("subject_token_type", "Parameter subject_token_type: SAML assertions are not supported yet; exchange a JWT or an ID token.")
	default:
		return req, invalidRequest("subject_token_type", fmt.Sprintf("Parameter subject_token_type %s is not supported; use %s or %s.",
			clip(tt, 128), TokenTypeJWT, TokenTypeIDToken))
	}
	if rt := form.Get("requested_token_type"); rt != "" && rt != TokenTypeAccessToken {
		return req, invalidRequest("requested_token_type", fmt.Sprintf("Parameter requested_token_type %s is not supported; only %s is issued.",
			clip(rt, 128), TokenTypeAccessToken))
	}

	var err error
	req.roleARN, req.roleName, err = selectRole(form, account)
	return req, err
}

// selectRole reads the role the request names: by ARN in resource or audience, by name
// in scope. Together they must name exactly one role.
func selectRole(form url.Values, account string) (arn, name string, err error) {
	var arns []string
	for _, param := range []string{"resource", "audience"} {
		for _, v := range form[param] {
			if !isRoleARN(v) || strings.SplitN(v, ":", 6)[4] != account {
				return "", "", invalidTarget(param, fmt.Sprintf("Parameter %s %q is not a role ARN of account %s.", param, clip(v, 128), account))
			}
			if !slices.Contains(arns, v) {
				arns = append(arns, v)
			}
		}
	}
	var names []string
	// RFC 6749 §3.3: scope is a list of space-delimited values.
	for _, v := range strings.Split(form.Get("scope"), " ") {
		if v == "" {
			continue
		}
		n, ok := strings.CutPrefix(v, scopeRolePrefix)
		if !ok {
			return "", "", oauthErr(http.StatusBadRequest, oauthInvalidScope, "scope",
				fmt.Sprintf("Parameter scope: %q is not offered; the only scope is role:<role name>.", clip(v, 128)), nil)
		}
		if n == "" || len(n) > maxRoleName || !validSessionName(n) {
			return "", "", invalidTarget("scope", fmt.Sprintf("Parameter scope: %q does not name a role; role names are 1 to %d characters of %s.",
				clip(v, 128), maxRoleName, sessionNameFormat))
		}
		if !slices.ContainsFunc(names, func(m string) bool { return strings.EqualFold(m, n) }) {
			names = append(names, n)
		}
	}
	switch {
	case len(arns) == 0 && len(names) == 0:
		return "", "", invalidTarget("", "Name the role to assume: a role ARN in resource or audience, or scope role:<role name>.")
	case len(arns) > 1 || len(names) > 1 ||
		(len(arns) == 1 && len(names) == 1 && !strings.EqualFold(roleNameOf(arns[0]), names[0])):
		return "", "", invalidTarget("", "The request names more than one role in resource, audience and scope; name exactly one.")
	case len(arns) == 1:
		return arns[0], "", nil
	}
	return "", names[0], nil
}

// sessionNameFor derives a token exchange's role session name from the web identity's
// subject, the RFC having no parameter for one. A subject that is a valid session name
// (2 to 64 characters of [\w+=,.@-]) is used as it is. Any other keeps its first 47
// characters, each one outside that set turned into '-', followed by '-' and 16 hex
// characters of the subject's SHA-256, so that subjects that read alike once cleaned
// ("repo:a/b" and "repo/a:b") get different names, and no subject can take the name
// another uses as it is.
func sessionNameFor(subject string) string {
	if len(subject) >= minSessionName && len(subject) <= maxSessionName && validSessionName(subject) {
		return subject
	}
	keep := maxSessionName - 1 - sessionNameDigest
	var b strings.Builder
	for _, c := range subject {
		if b.Len() == keep {
			break
		}
		if c < 0x80 && validSessionName(string(c)) {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	sum := sha256.Sum256([]byte(subject))
	b.WriteByte('-')
	b.WriteString(hex.EncodeToString(sum[:])[:sessionNameDigest])
	return b.String()
}

func oauthErr(status int, code, field, msg string, cause error) *httperr.Error {
	return &httperr.Error{Status: status, Code: code, Field: field, Msg: msg, Err: cause}
}

func invalidRequest(field, msg string) *httperr.Error {
	return oauthErr(http.StatusBadRequest, oauthInvalidRequest, field, msg, nil)
}

func invalidTarget(field, msg string) *httperr.Error {
	return oauthErr(http.StatusBadRequest, oauthInvalidTarget, field, msg, nil)
}

// oauthError turns an error of the shared web identity checks, which carry the AWS
// codes of SPEC §1.5, into the token endpoint's answer. Everything about the subject
// token and the trust decision becomes invalid_grant with one description; the cause
// stays in Err for the log.
func oauthError(err error) *httperr.Error {
	he := asHTTPError(err)
	if he == nil {
		return oauthErr(http.StatusInternalServerError, oauthServerError, "", "An internal error occurred; try again.", err)
	}
	switch he.Code {
	case oauthInvalidRequest, oauthInvalidGrant, oauthInvalidScope, oauthInvalidTarget, oauthUnsupportedGrantType, oauthServerError:
		return he
	case codeInvalidIdentityToken, codeExpiredToken, codeIDPRejectedClaim, codeAccessDenied,
		codeValidation, codePackedPolicyTooLarge, codeMalformedPolicy:
		// The validation codes come from the token's own claims here (its session tags
		// and source identity): the client has no parameter to fix.
		return oauthErr(http.StatusBadRequest, oauthInvalidGrant, "", msgInvalidGrant, he)
	case codeIDPCommunication:
		return oauthErr(http.StatusServiceUnavailable, oauthServerError, "",
			"The subject token's issuer could not be reached; try again later.", he)
	}
	return oauthErr(http.StatusInternalServerError, oauthServerError, "", "An internal error occurred; try again.", he)
}

// writeOAuthError answers in the shape of RFC 6749 §5.2 and logs the internal cause.
func (s *Service) writeOAuthError(w http.ResponseWriter, r *http.Request, he *httperr.Error) {
	level := slog.LevelInfo
	if he.Status >= 500 {
		level = slog.LevelError
	}
	s.log.Log(r.Context(), level, "token exchange refused", "request_id", audit.RequestIDFrom(r.Context()),
		"error", he.Code, "field", he.Field, "status", he.Status, "err", he.Err)
	writeJSON(w, he.Status, oauthErrorBody{Error: he.Code, Description: he.Msg})
}

// writeJSON writes a token endpoint response: never cached (RFC 6749 §5.1).
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only plain structs of strings and numbers are marshalled here.
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
