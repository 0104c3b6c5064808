package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/idp/apitoken"
	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/declare"
	"github.com/portcullis-id/portcullis/idp/regulate"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/httperr"
)

// Prefix is where the API is mounted.
const Prefix = "/admin/v1"

// AdminRole is the role a token needs.
const AdminRole = "admin"

// maxBody limits JSON request bodies.
const maxBody = 1 << 20

// KeyInfo describes a signing key without its private part.
type KeyInfo struct {
	ID        string    `json:"id"`
	Algorithm string    `json:"algorithm"`
	State     string    `json:"state"`
	NotAfter  time.Time `json:"not_after,omitzero"`
}

// KeyService rotates and lists token-signing keys.
type KeyService interface {
	Rotate(ctx context.Context) error
	List(ctx context.Context) ([]KeyInfo, error)
}

// PasswordService sets passwords and deactivates users. When the password is refused by
// policy, SetPassword returns an error wrapping a *PasswordPolicyError or any error with
// a PolicyReason() string method; the API then answers 400 on the field "password".
type PasswordService interface {
	SetPassword(ctx context.Context, userID, password string, mustChange bool) error
	Deactivate(ctx context.Context, userID string) error
}

// PasswordPolicyError says why a password was refused; the API answers 400 on the
// field "password" with Reason as the message. Reason must not contain the password.
type PasswordPolicyError struct {
	Reason string
}

func (e *PasswordPolicyError) Error() string { return "password refused: " + e.Reason }

// PolicyReason implements the policy-refusal interface the API looks for.
func (e *PasswordPolicyError) PolicyReason() string { return e.Reason }

// Deps are what the API needs. Store, Passwords, Clients, Keys and Declare are
// required; Audit, Now, Rand and Log have defaults (discard, time.Now, crypto/rand,
// discard). Without MFA, second-factor resets answer 501 and factor listings and the
// credential report read the stored credentials directly.
type Deps struct {
	Store     store.Store
	Keys      KeyService
	Passwords PasswordService
	Clients   declare.ClientService
	Declare   *declare.Reconciler
	MFA       MFAService
	Audit     audit.Recorder
	Now       func() time.Time
	Rand      io.Reader
	Log       *slog.Logger
	// Policies checks role and managed-policy documents; without it only their JSON
	// shape is checked.
	Policies PolicyValidator
	// Account is the account id in new role ARNs (default roles.DefaultAccount).
	Account string
	// Regulator and ClientIP, when set, throttle failed token authentications per address.
	Regulator *regulate.Regulator
	ClientIP  func(*http.Request) string
	// Providers validates and applies trusted issuers and SAML providers managed at
	// run time; without it those routes answer 501 (listing shows stored ones only).
	Providers ProviderService
}

// API serves /admin/v1.
type API struct {
	d Deps
}

// New returns the API. It panics when a required dependency is missing, which is a
// wiring bug.
func New(d Deps) *API {
	if d.Store == nil || d.Keys == nil || d.Passwords == nil || d.Clients == nil || d.Declare == nil {
		panic("api.New: Store, Keys, Passwords, Clients and Declare are required")
	}
	if d.Audit == nil {
		d.Audit = audit.Discard{}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &API{d: d}
}

// Mount registers every route on mux.
func (a *API) Mount(mux *http.ServeMux) {
	a.mountUsers(mux)
	a.mountGroups(mux)
	a.mountClients(mux)
	a.mountKeys(mux)
	a.mountTokens(mux)
	a.mountApply(mux)
	a.mountMFA(mux)
	a.mountReports(mux)
	a.mountRoles(mux)
	a.mountPolicies(mux)
	a.mountRoleMappings(mux)
	a.mountRoleSessions(mux)
	a.mountProviders(mux)
}

// call is the per-request state a handler shares with the route wrapper.
type call struct {
	tok     store.APIToken
	actor   string
	target  string            // what the audit event is about, e.g. "user:<id>"
	details map[string]string // non-secret context for the audit event
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call) error

// route registers pattern with authentication, error rendering and auditing. Changes
// (non-GET) are audited whatever their outcome; reads only when refused.
func (a *API) route(mux *http.ServeMux, pattern, action string, h handlerFunc) {
	mutating := !strings.HasPrefix(pattern, "GET ")
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		c := &call{actor: "anonymous"}
		err := a.authenticate(r, c)
		if err == nil {
			err = h(w, r, c)
		}
		if err != nil {
			var he *httperr.Error
			if errors.As(err, &he) && he.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="portcullis-admin"`)
				if he.Code == "invalid_token" {
					w.Header().Set("WWW-Authenticate", `Bearer realm="portcullis-admin", error="invalid_token"`)
				}
			}
			httperr.WriteJSON(w, r, a.d.Log, err)
		}
		status := httperr.Status(err)
		presented := r.Header.Get("Authorization") != ""
		switch {
		case status == http.StatusUnauthorized && !presented:
			// An absent header is not worth an audit write; a wrong token is.
			return
		case mutating, status == http.StatusUnauthorized, status == http.StatusForbidden:
		default:
			return
		}
		a.record(r, c, action, err)
	})
}

func (a *API) record(r *http.Request, c *call, action string, err error) {
	e := audit.Event{
		Actor:    c.actor,
		Action:   action,
		Target:   c.target,
		Outcome:  audit.Success,
		SourceIP: a.sourceIP(r),
		Details:  c.details,
	}
	if err != nil {
		e.Outcome = audit.Failure
		if s := httperr.Status(err); s == http.StatusUnauthorized || s == http.StatusForbidden {
			e.Outcome = audit.Denied
		}
		e.Reason = httperr.ClientMessage(err)
	}
	a.d.Audit.Record(r.Context(), e)
}

// sourceIP is the client address for audit events: through the trusted-proxy resolver
// when one is wired, else the connection's peer.
func (a *API) sourceIP(r *http.Request) string {
	if a.d.ClientIP != nil {
		return a.d.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticate resolves the bearer token into c. RFC 6750 §3: 401 with
// WWW-Authenticate for a missing or bad token, 403 for one without the admin role.
func (a *API) authenticate(r *http.Request, c *call) error {
	h := r.Header.Get("Authorization")
	if h == "" {
		return &httperr.Error{Status: http.StatusUnauthorized, Code: "unauthorized", Msg: "an admin API token is required (Authorization: Bearer pct_...)"}
	}
	bad := &httperr.Error{Status: http.StatusUnauthorized, Code: "invalid_token", Msg: "the API token is unknown, revoked or expired"}
	// Tokens carry 256 random bits, so guessing is hopeless; the throttle still keeps a
	// scanner from using the API as an oracle at line rate, as for every credential.
	var ipKey []regulate.Key
	if a.d.Regulator != nil && a.d.ClientIP != nil {
		ipKey = []regulate.Key{{Scope: "admin-token-ip", ID: a.d.ClientIP(r), Limits: tokenFailureLimits()}}
		if err := a.d.Regulator.Check(ipKey...); err != nil {
			return &httperr.Error{Status: http.StatusTooManyRequests, Code: "throttled", Msg: "too many failed admin API authentications from this address; try again later", Err: err}
		}
	}
	defer func() {
		if c.tok.ID == "" && ipKey != nil {
			a.d.Regulator.Fail(ipKey...)
		}
	}()
	scheme, cred, ok := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	if !ok || !strings.EqualFold(scheme, "Bearer") || apitoken.WellFormed(cred) != nil {
		return bad
	}
	// The digest is the lookup key: there is no comparison of the secret to time.
	tok, err := a.d.Store.GetAPITokenByDigest(r.Context(), apitoken.Digest(cred))
	if errors.Is(err, store.ErrNotFound) {
		return bad
	}
	if err != nil {
		return httperr.Internal(fmt.Errorf("look up api token: %w", err))
	}
	c.tok = tok
	c.actor = "token:" + tok.Name + "/" + tok.ID
	if !apitoken.Usable(tok, a.d.Now()) {
		bad.Err = fmt.Errorf("token %s revoked=%v expires_at=%s", tok.ID, tok.Revoked, tok.ExpiresAt)
		return bad
	}
	if !apitoken.HasRole(tok, AdminRole) {
		return errNotAdmin
	}
	return nil
}

var errNotAdmin = &httperr.Error{Status: http.StatusForbidden, Code: "forbidden", Msg: "the API token lacks the admin role"}

// Authenticate identifies the bearer token of r for the other HTTP groups that accept
// admin API tokens (the decision point): the actor for the audit trail and the token's
// roles, each caller checking the role it needs. Failures are *httperr.Error values,
// throttled like the admin API's own.
func (a *API) Authenticate(r *http.Request) (actor string, roles []string, err error) {
	c := &call{actor: "anonymous"}
	if err := a.authenticate(r, c); err != nil && err != errNotAdmin {
		return c.actor, nil, err
	}
	return c.actor, c.tok.Roles, nil
}

// tokenFailureLimits bounds failed bearer-token authentications per source address.
func tokenFailureLimits() regulate.Limits {
	return regulate.Limits{MaxFailures: 20, Window: time.Minute, Lockout: 5 * time.Minute}
}

// decodeJSON decodes one JSON value from the size-limited body, refusing unknown
// fields with their name. An empty body is allowed when optional is true.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if optional && errors.Is(err, io.EOF) {
			return nil
		}
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
		field := typ.Field
		if field == "" {
			return &httperr.Error{Status: http.StatusBadRequest, Code: "invalid_json", Msg: "a JSON object is expected", Err: err}
		}
		return httperr.BadField(field, "must be of JSON type "+jsonKind(typ.Type.Kind().String()))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return httperr.BadField(name, "unknown field")
	}
	return &httperr.Error{Status: http.StatusBadRequest, Code: "invalid_json", Msg: "the body could not be decoded", Err: err}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	}
	return "number"
}

// writeJSON writes v with status. Admin responses may carry one-time secrets: never
// cache them.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// list is the shape of every list response.
type list[T any] struct {
	Items []T `json:"items"`
}

func setETag(w http.ResponseWriter, version int64) {
	w.Header().Set("ETag", `"`+strconv.FormatInt(version, 10)+`"`)
}

// checkIfMatch enforces If-Match (RFC 9110 §13.1.1, strong comparison) against version.
func checkIfMatch(r *http.Request, version int64) error {
	h := r.Header.Get("If-Match")
	if h == "" {
		return nil
	}
	want := `"` + strconv.FormatInt(version, 10) + `"`
	for _, tag := range strings.Split(h, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || tag == want {
			return nil
		}
	}
	return errPrecondition
}

var errPrecondition = &httperr.Error{Status: http.StatusPreconditionFailed, Code: "precondition_failed", Msg: "the resource changed since it was read (If-Match does not match its ETag); read it again"}

// storeErr maps store sentinels to HTTP errors; what names the entity ("user").
func storeErr(err error, what, field string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return &httperr.Error{Status: http.StatusNotFound, Code: "not_found", Msg: what + " not found", Err: err}
	case errors.Is(err, store.ErrConflict):
		return &httperr.Error{Status: http.StatusPreconditionFailed, Code: "precondition_failed", Msg: errPrecondition.Msg, Err: err}
	case errors.Is(err, store.ErrAlreadyExists):
		return &httperr.Error{Status: http.StatusConflict, Code: "already_exists", Field: field, Msg: what + " already exists", Err: err}
	}
	return httperr.Internal(fmt.Errorf("%s: %w", what, err))
}

// issues collects field problems; err() is nil when there are none.
type issues []httperr.FieldIssue

func (is *issues) add(field string, err error) {
	if err != nil {
		*is = append(*is, httperr.FieldIssue{Field: field, Message: err.Error()})
	}
}

func (is *issues) addMsg(field, msg string) {
	*is = append(*is, httperr.FieldIssue{Field: field, Message: msg})
}

func (is issues) err() error {
	if len(is) == 0 {
		return nil
	}
	return &httperr.Multi{Issues: is}
}

// parseDuration reads an optional duration string such as "24h".
func parseDuration(field string, s *string, is *issues) time.Duration {
	if s == nil || *s == "" {
		return 0
	}
	d, err := time.ParseDuration(*s)
	if err != nil || d < 0 {
		is.addMsg(field, `must be a non-negative duration such as "10m" or "24h"`)
		return 0
	}
	return d
}
