package authz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/authz"
	"github.com/portcullis-id/portcullis/idp/policy"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/httperr"
)

// Routes.
const (
	CheckPath    = "/authz/v1/check"
	SimulatePath = "/admin/v1/policy/simulate"
)

// Caller roles. A service that only asks for decisions gets a token with RolePDP, which
// opens the check endpoint and nothing else; simulation reveals every policy's content
// by probing, so it stays with administrators.
const (
	RoleAdmin = "admin"
	RolePDP   = "pdp"
)

// Audit actions and the outcomes of a check. A check's outcome is its decision, so the
// trail answers "what was denied" without reading details; refused calls use the audit
// package's failure and denied outcomes.
const (
	ActionCheck    = "authz.check"
	ActionSimulate = "policy.simulate"
	OutcomeAllow   = "allow"
	OutcomeDeny    = "deny"
)

// maxBody bounds request bodies. Simulation bodies carry whole policies; 64 KiB holds
// several at IAM's own size limits.
const maxBody = 64 << 10

// Deps are what the handlers need. PDP and Authenticate are required; Audit, Log and
// Now default to discarding, discarding and time.Now.
type Deps struct {
	PDP *authz.PDP
	// Authenticate identifies the caller and its roles. A non-nil err is written to the
	// client as is (an *httperr.Error, typically 401); actor, when not empty, is still
	// used in the audit event of the refusal.
	Authenticate func(r *http.Request) (actor string, roles []string, err error)
	Audit        audit.Recorder
	Log          *slog.Logger
	// Now supplies aws:CurrentTime and aws:EpochTime when the request context lacks
	// them, read once per request.
	Now func() time.Time
	// ClientIP resolves the client address behind trusted proxies, for audit events.
	ClientIP func(*http.Request) string
	// AllowSampleRate is the share of allow decisions of /authz/v1/check that are
	// audited, 0..1; denies are always audited. Default (0 left unset): every allow.
	AllowSampleRate *float64
	// UserRoles resolves a user (name or id) to the roles the mapping rules grant; nil
	// turns off the user principal. A missing user is an error wrapping store.ErrNotFound.
	UserRoles func(ctx context.Context, user string) (userID string, roles []string, err error)
	// VerifySigned checks a check request signed with SigV4 by role credentials and
	// returns the signing session; nil refuses signed requests. Its errors are
	// *httperr.Error values (AWS's codes) and are answered as they are.
	VerifySigned func(r *http.Request, body []byte) (SignedSession, error)
}

// SignedSession is the role session that signed a check request: the request is then
// judged for that session.
type SignedSession struct {
	AccessKeyID  string
	SessionToken string
}

type signedKey struct{}

// Handler serves the PDP endpoints.
type Handler struct {
	d Deps
}

// New returns the handler. It panics when PDP or Authenticate is missing, which is a
// wiring bug.
func New(d Deps) *Handler {
	if d.PDP == nil || d.Authenticate == nil {
		panic("authz.New: PDP and Authenticate are required")
	}
	if d.Audit == nil {
		d.Audit = audit.Discard{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Handler{d: d}
}

// Mount registers the routes on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.Handle("POST "+CheckPath, h.route(ActionCheck, []string{RoleAdmin, RolePDP}, h.check))
	mux.Handle("POST "+SimulatePath, h.route(ActionSimulate, []string{RoleAdmin}, h.simulate))
}

// call is what a handler tells the route wrapper for the audit event.
type call struct {
	actor   string
	target  string
	outcome string
	details map[string]string
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call) error

// route authenticates, requires one of roles, runs fn, renders its error and audits.
func (h *Handler) route(action string, roles []string, fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{actor: "anonymous"}
		var actor string
		var have []string
		var err error
		if isSigV4(r) && action == ActionCheck {
			actor, have, err = h.authenticateSigned(r)
		} else {
			actor, have, err = h.d.Authenticate(r)
		}
		if actor != "" {
			c.actor = actor
		}
		if err == nil && !slices.ContainsFunc(roles, func(want string) bool { return slices.Contains(have, want) }) {
			err = &httperr.Error{Status: http.StatusForbidden, Code: "forbidden", Msg: "the caller lacks the " + strings.Join(roles, " or ") + " role"}
		}
		if err == nil {
			err = fn(w, r, c)
		}
		status := http.StatusOK
		if err != nil {
			err = httpError(err)
			status = httperr.Status(err)
			if status == http.StatusUnauthorized {
				// RFC 6750 §3: a 401 names the scheme, and the error when a token was bad.
				v := `Bearer realm="portcullis-admin"`
				var he *httperr.Error
				if errors.As(err, &he) && he.Code == "invalid_token" {
					v += `, error="invalid_token"`
				}
				w.Header().Set("WWW-Authenticate", v)
			}
			httperr.WriteJSON(w, r, h.d.Log, err)
		}
		if status == http.StatusUnauthorized && r.Header.Get("Authorization") == "" {
			// A request without credentials is not worth an audit write; a wrong one is.
			return
		}
		h.record(r, c, action, status, err)
	})
}

func (h *Handler) record(r *http.Request, c *call, action string, status int, err error) {
	// Denies are always in the trail; allows of the decision point are sampled so that a
	// busy service asking per request does not turn every check into a durable write.
	if err == nil && c.outcome == OutcomeAllow && action == ActionCheck && !h.sampleAllow() {
		return
	}
	e := audit.Event{Actor: c.actor, Action: action, Target: c.target, Outcome: c.outcome, SourceIP: h.sourceIP(r), Details: c.details}
	if err != nil {
		e.Outcome = audit.Failure
		if status == http.StatusUnauthorized || status == http.StatusForbidden {
			e.Outcome = audit.Denied
		}
		e.Reason = httperr.ClientMessage(err)
	}
	h.d.Audit.Record(r.Context(), e)
}

// checkBody is the body of POST /authz/v1/check. It names either the role the caller
// acts as (Role) or the role session being judged (SessionToken); a pointer tells an
// empty token from none.
type checkBody struct {
	Role         string              `json:"role"`
	User         string              `json:"user"`
	SessionToken *string             `json:"session_token"`
	Action       string              `json:"action"`
	Resource     string              `json:"resource"`
	Context      map[string][]string `json:"context"`
}

// decisionJSON is one decision as the API renders it.
type decisionJSON struct {
	Action       string                `json:"action"`
	Resource     string                `json:"resource"`
	Decision     string                `json:"decision"` // "allow" or "deny"
	Explicit     bool                  `json:"explicit"`
	Deciding     []policy.StatementRef `json:"deciding"`
	Reason       string                `json:"reason"`
	MissingLayer string                `json:"missing_layer,omitempty"`
}

type checkResponse struct {
	Role string `json:"role"` // the role's ARN
	// Session is the access key id of the judged role session; absent in role mode and
	// for a token that did not verify.
	Session string `json:"session,omitempty"`
	decisionJSON
}

type simulateResponse struct {
	Role    string         `json:"role,omitempty"` // the role's ARN; absent for raw policies
	Results []decisionJSON `json:"results"`
}

func (h *Handler) check(w http.ResponseWriter, r *http.Request, c *call) error {
	var b checkBody
	if err := decodeJSON(w, r, &b); err != nil {
		return err
	}
	c.target = roleTarget(b.Role)
	if signed, ok := r.Context().Value(signedKey{}).(SignedSession); ok {
		if b.User != "" || b.Role != "" || b.SessionToken != nil {
			return httperr.BadField("session_token", "a SigV4-signed request is judged for the session that signed it; leave out user, role and session_token")
		}
		b.SessionToken = &signed.SessionToken
		return h.checkSession(w, r, c, b)
	}
	switch {
	case b.User != "" && (b.Role != "" || b.SessionToken != nil):
		return httperr.BadField("user", "give one of user, role or session_token")
	case b.User != "":
		return h.checkUser(w, r, c, b)
	case b.SessionToken != nil && b.Role != "":
		return httperr.BadField("session_token", "give either role or session_token, not both: the session names its role")
	case b.SessionToken != nil:
		return h.checkSession(w, r, c, b)
	case b.Role == "":
		// Checked here rather than by the PDP, whose message offers raw policies: this
		// endpoint decides for stored roles and role sessions only.
		return httperr.BadField("role", "required: the name or ARN of the role the caller acts as, or session_token to judge role credentials")
	}
	res, err := h.d.PDP.Check(r.Context(), authz.CheckRequest{
		Role: b.Role, Action: b.Action, Resource: b.Resource, Context: h.withClock(b.Context),
	})
	if err != nil {
		return err
	}
	h.decided(w, c, res)
	return nil
}

// checkUser decides for a user principal: allowed when one of the roles the mapping
// rules grant the user allows it.
func (h *Handler) checkUser(w http.ResponseWriter, r *http.Request, c *call, b checkBody) error {
	if h.d.UserRoles == nil {
		return &httperr.Error{Status: http.StatusNotImplemented, Code: "not_implemented", Field: "user", Msg: "this server does not resolve users"}
	}
	c.target = "user:" + b.User
	id, roles, err := h.d.UserRoles(r.Context(), b.User)
	if errors.Is(err, store.ErrNotFound) {
		return &httperr.Error{Status: http.StatusNotFound, Code: "not_found", Field: "user", Msg: "no such user", Err: err}
	}
	if err != nil {
		return httperr.Internal(fmt.Errorf("roles of user %s: %w", b.User, err))
	}
	res, err := h.d.PDP.CheckUser(r.Context(), id, roles, authz.CheckRequest{
		Action: b.Action, Resource: b.Resource, Context: h.withClock(b.Context),
	})
	if err != nil {
		return err
	}
	h.decided(w, c, res.Result)
	c.target = "user:" + id
	return nil
}

// checkSession judges a role session: the API token authenticated the service asking,
// the session token is what is judged. A session that is not live, or a token that is
// not ours, is answered like any other deny, with a 200: the decision is the answer,
// and the service asking did nothing wrong. Why a token failed goes to the log only.
func (h *Handler) checkSession(w http.ResponseWriter, r *http.Request, c *call, b checkBody) error {
	res, err := h.d.PDP.CheckSession(r.Context(), *b.SessionToken, b.Action, b.Resource, h.withClock(b.Context))
	var se *authz.SessionError
	if errors.As(err, &se) {
		h.d.Log.InfoContext(r.Context(), "role session refused", "request_id", audit.RequestIDFrom(r.Context()),
			"access_key_id", se.Session, "role", se.Role, "caller", c.actor, "err", se.Err)
		res = authz.Result{Action: b.Action, Resource: b.Resource, Decision: se.Decision(), Role: se.Role, Session: se.Session}
		err = nil
	}
	if err != nil {
		return err
	}
	h.decided(w, c, res)
	return nil
}

// decided writes a decision and fills the audit event: the outcome is the decision, so
// every deny is in the trail with its reason.
func (h *Handler) decided(w http.ResponseWriter, c *call, res authz.Result) {
	c.target = roleTarget(res.Role)
	c.outcome = OutcomeDeny
	if res.Decision.Effect == policy.Allow {
		c.outcome = OutcomeAllow
	}
	c.details = map[string]string{"action": res.Action, "resource": res.Resource, "reason": res.Decision.Reason}
	if len(res.Decision.Deciding) > 0 {
		c.details["deciding"] = joinRefs(res.Decision.Deciding)
	}
	if res.Decision.MissingLayer != "" {
		c.details["missing_layer"] = res.Decision.MissingLayer
	}
	if res.Session != "" {
		c.details["access_key_id"] = res.Session
	}
	writeJSON(w, checkResponse{Role: res.Role, Session: res.Session, decisionJSON: render(res)})
}

// simulateBody is the body of POST /admin/v1/policy/simulate.
type simulateBody struct {
	Role          string              `json:"role"`
	Policies      []json.RawMessage   `json:"policies"`
	Boundary      json.RawMessage     `json:"boundary"`
	SessionPolicy json.RawMessage     `json:"session_policy"`
	Actions       []string            `json:"actions"`
	Resources     []string            `json:"resources"`
	Context       map[string][]string `json:"context"`
}

func (h *Handler) simulate(w http.ResponseWriter, r *http.Request, c *call) error {
	var b simulateBody
	if err := decodeJSON(w, r, &b); err != nil {
		return err
	}
	c.target = roleTarget(b.Role)
	results, err := h.d.PDP.Simulate(r.Context(), authz.SimulateRequest{
		Role: b.Role, Policies: b.Policies, Boundary: b.Boundary, SessionPolicy: b.SessionPolicy,
		Actions: b.Actions, Resources: b.Resources, Context: h.withClock(b.Context),
	})
	if err != nil {
		return err
	}
	// A simulation is not an access decision: its outcome is that it ran, and the
	// counts say what it found. Recording "deny" here would mix what-if answers into
	// the trail of real denials.
	c.outcome = audit.Success
	resp := simulateResponse{Results: make([]decisionJSON, len(results))}
	allowed := 0
	for i, res := range results {
		resp.Results[i] = render(res)
		if res.Decision.Effect == policy.Allow {
			allowed++
		}
	}
	if len(results) > 0 {
		resp.Role = results[0].Role
		c.target = roleTarget(resp.Role)
	}
	c.details = map[string]string{
		"pairs":   strconv.Itoa(len(results)),
		"allowed": strconv.Itoa(allowed),
		"denied":  strconv.Itoa(len(results) - allowed),
	}
	if len(b.Policies) > 0 {
		c.details["policies"] = strconv.Itoa(len(b.Policies))
	}
	writeJSON(w, resp)
	return nil
}

func render(res authz.Result) decisionJSON {
	d := res.Decision
	out := decisionJSON{
		Action: res.Action, Resource: res.Resource, Decision: OutcomeDeny, Explicit: d.Explicit,
		Deciding: d.Deciding, Reason: d.Reason, MissingLayer: d.MissingLayer,
	}
	if d.Effect == policy.Allow {
		out.Decision = OutcomeAllow
	}
	if out.Deciding == nil {
		out.Deciding = []policy.StatementRef{} // clients iterate; never null
	}
	return out
}

// withClock returns the request context with aws:CurrentTime and aws:EpochTime set
// when the caller did not give them. IAM always supplies both; reading the clock once
// also keeps every pair of a simulation at the same instant.
func (h *Handler) withClock(in map[string][]string) map[string][]string {
	out := make(map[string][]string, len(in)+2)
	for k, v := range in {
		out[k] = v
	}
	now := h.d.Now().UTC()
	if len(policy.Context(out).Get("aws:CurrentTime")) == 0 {
		out["aws:currenttime"] = []string{now.Format(time.RFC3339)}
	}
	if len(policy.Context(out).Get("aws:EpochTime")) == 0 {
		out["aws:epochtime"] = []string{strconv.FormatInt(now.Unix(), 10)}
	}
	return out
}

func roleTarget(ref string) string {
	if ref == "" {
		return ""
	}
	return "role:" + ref
}

func joinRefs(refs []policy.StatementRef) string {
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = r.String()
	}
	return strings.Join(s, ",")
}

// httpError maps PDP errors to HTTP ones; anything unexpected is a 500 whose cause only
// the log sees (a role whose attached policy is missing is a store inconsistency, not
// the caller's mistake).
func httpError(err error) error {
	var he *httperr.Error
	var multi *httperr.Multi
	switch {
	case errors.As(err, &he), errors.As(err, &multi):
		return err
	case errors.Is(err, authz.ErrInvalidRequest):
		ps := authz.Problems(err)
		issues := make([]httperr.FieldIssue, len(ps))
		for i, p := range ps {
			issues[i] = httperr.FieldIssue{Field: p.Field, Message: p.Msg}
		}
		return &httperr.Multi{Issues: issues}
	case errors.Is(err, authz.ErrSessionsDisabled):
		return &httperr.Error{Status: http.StatusNotImplemented, Code: "not_implemented", Field: "session_token", Msg: "this server does not judge role sessions", Err: err}
	case errors.Is(err, authz.ErrUnknownRole):
		return &httperr.Error{Status: http.StatusNotFound, Code: "not_found", Field: "role", Msg: "role not found", Err: err}
	}
	return httperr.Internal(fmt.Errorf("authorization decision: %w", err))
}

// sourceIP is the client address for audit events: through the trusted-proxy resolver
// when one is wired, else the connection's peer.
func (h *Handler) sourceIP(r *http.Request) string {
	if h.d.ClientIP != nil {
		return h.d.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// decodeJSON decodes exactly one JSON object from the size-limited body, refusing
// unknown fields by name: a misspelt "resouce" must not turn into a check on "".
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &httperr.Error{Status: http.StatusBadRequest, Code: "invalid_json", Msg: "the body must hold exactly one JSON object"}
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var big *http.MaxBytesError
	switch {
	case errors.As(err, &big):
		return &httperr.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Msg: fmt.Sprintf("the body exceeds %d bytes", big.Limit), Err: err}
	case errors.Is(err, io.EOF):
		return &httperr.Error{Status: http.StatusBadRequest, Code: "invalid_json", Msg: "the body is empty; a JSON object is expected"}
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return &httperr.Error{Status: http.StatusBadRequest, Code: "invalid_json", Msg: "the body is not valid JSON", Err: err}
	case errors.As(err, &typ):
		if typ.Field == "" {
			return &httperr.Error{Status: http.StatusBadRequest, Code: "invalid_json", Msg: "a JSON object is expected", Err: err}
		}
		return &httperr.Error{Status: http.StatusBadRequest, Code: "invalid_field", Field: typ.Field, Msg: "has the wrong JSON type (" + typ.Value + ")", Err: err}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return httperr.BadField(name, "unknown field")
	}
	return &httperr.Error{Status: http.StatusBadRequest, Code: "invalid_json", Msg: "the body could not be decoded", Err: err}
}

// writeJSON writes a 200 with v. Decisions depend on policies that change at any time:
// nothing may cache them. A failed write means the client has gone; the status line is
// already sent, so there is nobody left to tell.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

// sampleAllow decides whether one allow decision is audited.
func (h *Handler) sampleAllow() bool {
	if h.d.AllowSampleRate == nil {
		return true
	}
	rate := *h.d.AllowSampleRate
	switch {
	case rate >= 1:
		return true
	case rate <= 0:
		return false
	}
	return mrand.Float64() < rate
}

// isSigV4 reports whether r is signed with AWS Signature Version 4, in the header or
// presigned in the query.
func isSigV4(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") ||
		r.URL.Query().Get("X-Amz-Algorithm") == "AWS4-HMAC-SHA256"
}

// authenticateSigned verifies a SigV4-signed check request. The signing session acts
// with the pdp role for this request only, to ask about itself; the body is put back
// for the handler, and the session travels in the context.
func (h *Handler) authenticateSigned(r *http.Request) (string, []string, error) {
	if h.d.VerifySigned == nil {
		return "", nil, &httperr.Error{Status: http.StatusUnauthorized, Code: "invalid_token", Msg: "this server does not accept SigV4-signed requests here; send a bearer token"}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return "", nil, &httperr.Error{Status: http.StatusBadRequest, Code: "invalid_request", Msg: "the body could not be read", Err: err}
	}
	if len(body) > maxBody {
		return "", nil, &httperr.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Msg: fmt.Sprintf("the body exceeds %d bytes", maxBody)}
	}
	s, err := h.d.VerifySigned(r, body)
	if err != nil {
		return "", nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	*r = *r.WithContext(context.WithValue(r.Context(), signedKey{}, s))
	return "role_session:" + s.AccessKeyID, []string{RolePDP}, nil
}
