package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/httperr"
)

// Role sessions are the temporary credentials the STS issued. The API lists and
// revokes them; it never returns their secrets.

func (a *API) mountRoleSessions(mux *http.ServeMux) {
	a.route(mux, "GET "+Prefix+"/role-sessions", "admin.role_session.list", a.listRoleSessions)
	a.route(mux, "GET "+Prefix+"/role-sessions/{id}", "admin.role_session.get", a.getRoleSession)
	a.route(mux, "DELETE "+Prefix+"/role-sessions/{id}", "admin.role_session.revoke", a.revokeRoleSession)
	a.route(mux, "POST "+Prefix+"/role-sessions/revoke", "admin.role_session.revoke_all", a.revokeRoleSessions)
}

// RoleSession is the API view of a role session: everything but the sealed secret and
// the session policy document (its digest identifies it).
type RoleSession struct {
	// ID is the access key id, which is also the session token's jti.
	ID                  string            `json:"id"`
	AccessKeyID         string            `json:"access_key_id"`
	RoleID              string            `json:"role_id"`
	RoleARN             string            `json:"role_arn"`
	SessionName         string            `json:"session_name"`
	Subject             string            `json:"subject,omitempty"`
	Issuer              string            `json:"issuer,omitempty"`
	SourceIdentity      string            `json:"source_identity,omitempty"`
	SessionPolicyDigest string            `json:"session_policy_digest,omitempty"`
	PolicyARNs          []string          `json:"policy_arns,omitempty"`
	Tags                map[string]string `json:"tags,omitempty"`
	IssuedAt            time.Time         `json:"issued_at"`
	ExpiresAt           time.Time         `json:"expires_at"`
	Revoked             bool              `json:"revoked"`
	// Active: neither revoked nor expired when the answer was made.
	Active bool `json:"active"`
}

func roleSessionView(s store.RoleSession, now time.Time) RoleSession {
	return RoleSession{
		ID: s.ID, AccessKeyID: s.ID, RoleID: s.RoleID, RoleARN: s.RoleARN, SessionName: s.SessionName,
		Subject: s.Subject, Issuer: s.Issuer, SourceIdentity: s.SourceIdentity,
		SessionPolicyDigest: s.SessionPolicyDigest, PolicyARNs: s.PolicyARNs, Tags: s.Tags,
		IssuedAt: s.IssuedAt, ExpiresAt: s.ExpiresAt, Revoked: s.Revoked,
		Active: !s.Revoked && now.Before(s.ExpiresAt),
	}
}

// revokeRoleSession ends one session wherever its token is judged: the record is marked
// revoked (the decision point and introspection read it) and the token's jti, the
// access key id, goes on the revocation list until the session would have expired, for
// verifiers that consult only that list. Both writes share one transaction, so a
// session is never half revoked. Revoking a revoked session again is not an error.
func revokeRoleSession(ctx context.Context, tx store.Tx, s store.RoleSession) error {
	if err := tx.RevokeRoleSession(ctx, s.ID); err != nil {
		return fmt.Errorf("revoke role session %s: %w", s.ID, err)
	}
	if err := tx.Revoke(ctx, store.Revocation{Key: s.ID, Until: s.ExpiresAt}); err != nil {
		return fmt.Errorf("revoke session token %s: %w", s.ID, err)
	}
	return nil
}

// RevokeRoleSession revokes the session with the given access key id (see
// revokeRoleSession) and returns it as revoked. store.ErrNotFound for an unknown id.
func RevokeRoleSession(ctx context.Context, st store.Store, id string) (store.RoleSession, error) {
	var out store.RoleSession
	err := st.Atomic(ctx, func(tx store.Tx) error {
		s, err := tx.GetRoleSession(ctx, id)
		if err != nil {
			return err
		}
		if err := revokeRoleSession(ctx, tx, s); err != nil {
			return err
		}
		s.Revoked = true
		out = s
		return nil
	})
	return out, err
}

// RevokeRoleSessions revokes every session f selects that is live at now, all in one
// transaction, and returns them. f.LiveAt is set to now.
func RevokeRoleSessions(ctx context.Context, st store.Store, f store.RoleSessionFilter, now time.Time) ([]store.RoleSession, error) {
	f.LiveAt = now
	var out []store.RoleSession
	err := st.Atomic(ctx, func(tx store.Tx) error {
		out = nil // Atomic may run fn again
		live, err := tx.FindRoleSessions(ctx, f)
		if err != nil {
			return err
		}
		for _, s := range live {
			if err := revokeRoleSession(ctx, tx, s); err != nil {
				return err
			}
			s.Revoked = true
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

// roleFilter resolves a role given by name or ARN into the filter's RoleID.
func (a *API) roleFilter(ctx context.Context, role string, f *store.RoleSessionFilter) (store.Role, error) {
	var (
		ro  store.Role
		err error
	)
	if strings.HasPrefix(role, "arn:") {
		ro, err = a.d.Store.GetRoleByARN(ctx, role)
	} else {
		ro, err = a.d.Store.GetRoleByName(ctx, role)
	}
	if err != nil {
		return store.Role{}, storeErr(err, "role", "role")
	}
	f.RoleID = ro.ID
	return ro, nil
}

func (a *API) listRoleSessions(w http.ResponseWriter, r *http.Request, _ *call) error {
	q := r.URL.Query()
	var f store.RoleSessionFilter
	f.Subject = q.Get("subject")
	now := a.d.Now()
	if v := q.Get("active"); v != "" {
		active, err := strconv.ParseBool(v)
		if err != nil {
			return httperr.BadField("active", "must be true or false")
		}
		if active {
			f.LiveAt = now
		}
	}
	if role := q.Get("role"); role != "" {
		if _, err := a.roleFilter(r.Context(), role, &f); err != nil {
			return err
		}
	}
	sessions, err := a.d.Store.FindRoleSessions(r.Context(), f)
	if err != nil {
		return storeErr(err, "role sessions", "")
	}
	out := make([]RoleSession, 0, len(sessions))
	for _, s := range sessions {
		out = append(out, roleSessionView(s, now))
	}
	return writeJSON(w, http.StatusOK, list[RoleSession]{Items: out})
}

func (a *API) getRoleSession(w http.ResponseWriter, r *http.Request, _ *call) error {
	s, err := a.d.Store.GetRoleSession(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err, "role session", "")
	}
	return writeJSON(w, http.StatusOK, roleSessionView(s, a.d.Now()))
}

func (a *API) revokeRoleSession(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.target = "role_session:" + id
	s, err := RevokeRoleSession(r.Context(), a.d.Store, id)
	if err != nil {
		return storeErr(err, "role session", "")
	}
	c.details = map[string]string{"role": s.RoleARN, "session_name": s.SessionName}
	if s.Subject != "" {
		c.details["subject"] = s.Subject
	}
	a.d.Log.InfoContext(r.Context(), "role session revoked", "actor", c.actor, "access_key_id", s.ID, "role", s.RoleARN)
	return writeJSON(w, http.StatusOK, roleSessionView(s, a.d.Now()))
}

// revokeRequest selects the sessions to revoke: those of a role, of a subject, or of
// both together.
type revokeRequest struct {
	Role    string `json:"role"`
	Subject string `json:"subject"`
}

// RevokeResult is the answer to a bulk revocation.
type RevokeResult struct {
	Revoked int `json:"revoked"`
	// IDs are the access key ids of the sessions revoked now (not those already dead).
	IDs []string `json:"ids"`
}

func (a *API) revokeRoleSessions(w http.ResponseWriter, r *http.Request, c *call) error {
	var req revokeRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if req.Role == "" && req.Subject == "" {
		// An empty filter would select every session of every role.
		return httperr.BadField("role", "give a role, a subject or both")
	}
	f := store.RoleSessionFilter{Subject: req.Subject}
	var targets []string
	c.details = map[string]string{}
	if req.Role != "" {
		targets = append(targets, "role:"+req.Role)
		ro, err := a.roleFilter(r.Context(), req.Role, &f)
		if err != nil {
			c.target = strings.Join(targets, " ")
			return err
		}
		c.details["role"] = ro.ARN
	}
	if req.Subject != "" {
		targets = append(targets, "subject:"+req.Subject)
		c.details["subject"] = req.Subject
	}
	c.target = strings.Join(targets, " ")
	revoked, err := RevokeRoleSessions(r.Context(), a.d.Store, f, a.d.Now())
	if err != nil {
		return httperr.Internal(err)
	}
	res := RevokeResult{Revoked: len(revoked), IDs: make([]string, 0, len(revoked))}
	for _, s := range revoked {
		res.IDs = append(res.IDs, s.ID)
	}
	c.details["count"] = strconv.Itoa(res.Revoked)
	a.d.Log.InfoContext(r.Context(), "role sessions revoked", "actor", c.actor, "target", c.target, "count", res.Revoked)
	return writeJSON(w, http.StatusOK, res)
}
