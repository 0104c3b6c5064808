package sts

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/keys"
	"github.com/portcullis-id/portcullis/idp/policy"
	"github.com/portcullis-id/portcullis/idp/regulate"
	"github.com/portcullis-id/portcullis/idp/seal"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/httperr"
)

// apiVersion is the only Version the query API answers (SPEC §1.1).
const apiVersion = "2011-06-15"

// xmlNS is the namespace of every response body.
const xmlNS = "https://sts.amazonaws.com/doc/2011-06-15/"

// maxRequestBody bounds a request: a token of 20,000 characters, a 2,048-character
// policy and ten policy ARNs, percent-encoded, fit several times over.
const maxRequestBody = 128 << 10

// Store is the part of the store the service uses.
type Store interface {
	GetRoleByARN(ctx context.Context, arn string) (store.Role, error)
	// GetRoleByName finds the role token exchange names with scope role:<name>.
	GetRoleByName(ctx context.Context, name string) (store.Role, error)
	// GetManagedPolicy resolves the managed session policies named by PolicyArns.
	GetManagedPolicy(ctx context.Context, name string) (store.ManagedPolicy, error)
	CreateRoleSession(ctx context.Context, s store.RoleSession) error
	// Atomic stores a session and its audit event in one transaction.
	Atomic(ctx context.Context, fn func(tx store.Tx) error) error
	// GetRoleSession finds the session whose access key id signed a request.
	GetRoleSession(ctx context.Context, id string) (store.RoleSession, error)
}

var _ Store = store.Store(nil)

// IdentityVerifier verifies a web identity token: signature against the trusted
// issuer's keys, iss, aud, exp/nbf/iat, replay. Errors wrap ErrInvalidIdentityToken,
// ErrExpiredToken, ErrIDPCommunication or ErrIDPRejectedClaim.
type IdentityVerifier interface {
	VerifyWebIdentity(ctx context.Context, token string) (Identity, error)
}

// Identity is a verified web identity.
type Identity struct {
	// Issuer is the token's iss, an https URL.
	Issuer  string
	Subject string
	// Audience is the token's aud; the first value is reported as the response's
	// Audience.
	Audience []string
	// ConditionKeys are the token's claims as trust-policy condition keys, named
	// "<issuer host/path>:<claim>" (SPEC §1.7).
	ConditionKeys map[string][]string
	Expiry        time.Time
	// SourceIdentity is the "https://aws.amazon.com/source_identity" claim, "" when the
	// token has none; setting it needs sts:SetSourceIdentity in the trust policy.
	SourceIdentity string
	// Tags are the session tags of the "https://aws.amazon.com/tags" claim
	// (principal_tags); carrying any needs sts:TagSession in the trust policy.
	Tags map[string]string
	// TransitiveTagKeys are the claim's transitive_tag_keys: the keys of Tags that
	// pass on when the session assumes another role (AssumeRole, role chaining).
	TransitiveTagKeys []string
}

// KeySource hands out the key that signs session tokens and the published keys that
// verify them (a *keys.Manager).
type KeySource interface {
	Current() keys.Key
	PublicKeys() []keys.Key
}

// Deps are what New needs. Store, Verifier, Sealer, Keys, Issuer and Account are
// required.
type Deps struct {
	// Regulator, when set, counts failed credential checks (bad tokens, assertions and
	// signatures) per source address and refuses an address that keeps failing, as every
	// other credential check does. Limits: FailureLimits().
	Regulator *regulate.Regulator
	Store     Store
	Verifier  IdentityVerifier
	// Evaluator compiles and caches trust policies; share the decision point's. nil
	// means a private one.
	Evaluator *policy.Evaluator
	// Sealer seals secret access keys at rest.
	Sealer *seal.Sealer
	Keys   KeySource
	// Issuer is Portcullis's issuer URL, the session token's iss.
	Issuer string
	// Account is the 12-digit account id in ARNs (SPEC §8).
	Account string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of access key ids, secrets and request ids; nil means
	// crypto/rand.
	Rand io.Reader
	// Audit records every issued credential and every refusal; nil discards.
	Audit audit.Recorder
	// Log receives refusals with their reasons; nil discards.
	Log *slog.Logger
	// SAMLProviders are the identity providers AssumeRoleWithSAML trusts; none
	// means the action refuses every assertion.
	SAMLProviders []SAMLProvider
}

// Service serves the STS query API. It is safe for concurrent use.
type Service struct {
	reg      *regulate.Regulator
	st       Store
	verifier IdentityVerifier
	ev       *policy.Evaluator
	sealer   *seal.Sealer
	keys     KeySource
	issuer   string
	account  string
	now      func() time.Time
	rand     io.Reader
	audit    audit.Recorder
	log      *slog.Logger
	saml     *samlProviders

	// signer caches the session-token signer of the current key.
	signer atomic.Pointer[keySigner]
}

type keySigner struct {
	kid string
	s   keys.CompactSigner
}

// New checks d and returns a Service.
func New(d Deps) (*Service, error) {
	var errs []error
	if d.Store == nil {
		errs = append(errs, errors.New("Store is required"))
	}
	if d.Verifier == nil {
		errs = append(errs, errors.New("Verifier is required"))
	}
	if d.Sealer == nil {
		errs = append(errs, errors.New("Sealer is required"))
	}
	if d.Keys == nil {
		errs = append(errs, errors.New("Keys is required"))
	}
	if d.Issuer == "" {
		errs = append(errs, errors.New("Issuer is required"))
	}
	if !isAccountID(d.Account) {
		errs = append(errs, fmt.Errorf("Account %q must be a 12-digit account id", d.Account))
	}
	samlProv, err := newSAMLProviders(d.SAMLProviders, d.Account, d.Issuer)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sts: %w", err)
	}
	s := &Service{saml: samlProv, reg: d.Regulator,
		st: d.Store, verifier: d.Verifier, ev: d.Evaluator, sealer: d.Sealer, keys: d.Keys,
		issuer: d.Issuer, account: d.Account, now: d.Now, rand: d.Rand, audit: d.Audit, log: d.Log,
	}
	if s.ev == nil {
		s.ev = policy.NewEvaluator(policy.Options{})
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.audit == nil {
		s.audit = audit.Discard{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Mount registers the query API at /sts, by POST form and by GET query alike
// (SPEC §1.1). Point an SDK's BaseEndpoint at <issuer>/sts.
func (s *Service) Mount(mux *http.ServeMux) {
	mux.HandleFunc("POST /sts", s.serve)
	mux.HandleFunc("GET /sts", s.serve)
}

// serve dispatches on Action. The request id goes out in the x-amzn-RequestId
// header, which the SDK prefers over the body's (SPEC §1.8).
func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	reqID, err := s.requestID()
	if err != nil {
		s.writeError(w, r, "", internalError(err))
		return
	}
	w.Header().Set("x-amzn-RequestId", reqID)
	ctx := audit.WithRequestID(r.Context(), reqID)
	r = r.WithContext(ctx)

	// The body is read once, bounded, for the SigV4 payload hash, and put back for
	// the form parser.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err == nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		err = r.ParseForm()
	}
	if err != nil {
		s.writeError(w, r, reqID, awsError(http.StatusBadRequest, codeValidation, "The request is not a valid form or is too large.", err))
		return
	}
	p := params{form: r.Form}
	action, err := p.one("Action")
	if err != nil {
		s.writeError(w, r, reqID, err)
		return
	}
	if action == "" {
		s.writeError(w, r, reqID, awsError(http.StatusBadRequest, codeMissingAction, "Missing Action", nil))
		return
	}
	version, err := p.one("Version")
	if err != nil {
		s.writeError(w, r, reqID, err)
		return
	}
	if version == "" {
		s.writeError(w, r, reqID, awsError(http.StatusBadRequest, codeMissingParameter,
			"The request must contain the parameter Version", nil))
		return
	}
	ipKey := regulate.Key{Scope: "sts-ip", ID: clientIP(r), Limits: FailureLimits()}
	if s.reg != nil {
		if err := s.reg.Check(ipKey); err != nil {
			s.writeError(w, r, reqID, awsError(http.StatusBadRequest, codeThrottling, "Rate exceeded: too many failed requests from this address", err))
			return
		}
	}
	var resp interface{ setRequestID(string) }
	switch {
	case version != apiVersion:
		err = invalidAction(action, version)
	case action == "AssumeRoleWithWebIdentity":
		// Unsigned (SPEC §1.1): a signature, if any, is ignored.
		resp, err = s.assumeRoleWithWebIdentity(ctx, p, clientIP(r))
	case action == "AssumeRoleWithSAML":
		// Unsigned too: the assertion is the proof.
		resp, err = s.assumeRoleWithSAML(ctx, p, clientIP(r))
	case action == "GetCallerIdentity":
		resp, err = s.getCallerIdentity(ctx, r, body)
	case action == "AssumeRole":
		resp, err = s.assumeRole(ctx, r, body, p)
	default:
		err = invalidAction(action, version)
	}
	if err != nil {
		if s.reg != nil && credentialFailure(err) {
			s.reg.Fail(ipKey)
		}
		s.writeError(w, r, reqID, err)
		return
	}
	resp.setRequestID(reqID)
	// Credentials must not sit in shared caches.
	w.Header().Set("Cache-Control", "no-store")
	writeXML(w, http.StatusOK, resp)
}

// FailureLimits bound failed credential checks per source address. Generous: the AWS
// SDKs retry InvalidIdentityToken three times, and a CI fleet shares few addresses.
func FailureLimits() regulate.Limits {
	return regulate.Limits{MaxFailures: 100, Window: time.Minute, Lockout: time.Minute}
}

// credentialFailure reports errors that mean a presented credential did not verify.
func credentialFailure(err error) bool {
	var he *httperr.Error
	if !errors.As(err, &he) {
		return false
	}
	switch he.Code {
	case codeInvalidIdentityToken, codeInvalidClientTokenID, codeSignatureDoesNotMatch, codeIncompleteSignature:
		return true
	}
	return false
}

func invalidAction(action, version string) error {
	return awsError(http.StatusBadRequest, codeInvalidAction,
		fmt.Sprintf("Could not find operation %s for version %s", clip(action, 64), clip(version, 16)), nil)
}

func (s *Service) requestID() (string, error) {
	id, err := uuid.NewRandomFromReader(s.rand)
	if err != nil {
		return "", fmt.Errorf("request id: %w", err)
	}
	return id.String(), nil
}

type errorResponse struct {
	XMLName   xml.Name  `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
	Error     errorBody `xml:"Error"`
	RequestID string    `xml:"RequestId"`
}

type errorBody struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// writeError answers with the ErrorResponse shape the SDK parses (the <Error> wrapper
// is required, SPEC §1.8) and logs the internal cause.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, reqID string, err error) {
	var he *httperr.Error
	if !errors.As(err, &he) {
		he = internalError(err)
	}
	level := slog.LevelInfo
	if he.Status >= 500 {
		level = slog.LevelError
	}
	s.log.Log(r.Context(), level, "sts request refused", "request_id", reqID, "code", he.Code, "status", he.Status, "err", he.Err)
	writeXML(w, he.Status, errorResponse{
		Error:     errorBody{Type: errorType(he.Status), Code: he.Code, Message: he.Msg},
		RequestID: reqID,
	})
}

func writeXML(w http.ResponseWriter, status int, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		// Only plain structs of strings and numbers are marshalled here.
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(body)
}

// clientIP is the TCP peer's address, for portcullis:SourceIp and the audit trail.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// clip shortens client input echoed in a message.
func clip(v string, n int) string {
	if len(v) <= n {
		return v
	}
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return v[:n] + "..."
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
