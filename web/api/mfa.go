package api

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/httperr"
)

// MFAService lists and removes a user's second factors.
type MFAService interface {
	// Factors lists the user's enrolled factors (TOTP, WebAuthn), with recovery codes as
	// one factor of type "recovery" when the user has any.
	Factors(ctx context.Context, userID string) ([]mfa.Factor, error)
	// Reset removes every factor of the user, recovery codes included, so that they
	// enroll again at their next sign-in. actor is who asked, for the audit trail.
	Reset(ctx context.Context, userID, actor string) error
}

// RecoveryCodeCounter is an MFAService that can also say how many unused recovery
// codes a user holds. Without it the credential report counts the stored recovery
// credentials, one per unused code.
type RecoveryCodeCounter interface {
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)
}

// Factor is the API view of one second factor. It is its own type, not mfa.Factor,
// so that a field added there cannot leak through the API unnoticed.
type Factor struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Name    string `json:"name,omitempty"`
	Passkey bool   `json:"passkey,omitempty"`
	// CreatedAt is absent for the entry standing for recovery codes, which has none.
	CreatedAt  time.Time `json:"created_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// UserMFA is the response of GET /users/{id}/mfa.
type UserMFA struct {
	// Enrolled: the user has a second factor they can sign in with. Recovery codes
	// alone do not count: they are a way back in, not a factor to enroll.
	Enrolled bool     `json:"enrolled"`
	Items    []Factor `json:"items"`
}

func (a *API) mountMFA(mux *http.ServeMux) {
	a.route(mux, "GET "+Prefix+"/users/{id}/mfa", "admin.user.mfa.list", a.listUserFactors)
	a.route(mux, "POST "+Prefix+"/users/{id}/mfa/reset", "admin.user.mfa.reset", a.resetUserMFA)
}

func (a *API) listUserFactors(w http.ResponseWriter, r *http.Request, _ *call) error {
	id := r.PathValue("id")
	if _, err := a.d.Store.GetUser(r.Context(), id); err != nil {
		return storeErr(err, "user", "")
	}
	fs, err := a.factors(r.Context(), id, nil)
	if err != nil {
		return err
	}
	out := UserMFA{Enrolled: enrolled(fs), Items: make([]Factor, 0, len(fs))}
	for _, f := range fs {
		out.Items = append(out.Items, Factor{
			ID: f.ID, Type: f.Type, Name: f.Name, Passkey: f.Passkey,
			CreatedAt: utcOrZero(f.CreatedAt), LastUsedAt: utcOrZero(f.LastUsedAt),
		})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) resetUserMFA(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.target = "user:" + id
	if a.d.MFA == nil {
		return &httperr.Error{Status: http.StatusNotImplemented, Code: "not_implemented", Msg: "second factors are not enabled on this server"}
	}
	u, err := a.d.Store.GetUser(r.Context(), id)
	if err != nil {
		return storeErr(err, "user", "")
	}
	c.details = map[string]string{"user_name": u.UserName}
	// Which factors went is worth keeping in the audit trail: the reset itself
	// destroys the evidence.
	before, err := a.d.MFA.Factors(r.Context(), id)
	if err != nil {
		return httperr.Internal(fmt.Errorf("list factors of user %s before reset: %w", id, err))
	}
	c.details["factors"] = strings.Join(factorTypes(before, true), ",")
	if err := a.d.MFA.Reset(r.Context(), id, c.actor); err != nil {
		return storeErr(fmt.Errorf("reset second factors of user %s: %w", id, err), "user", "")
	}
	// A reset usually follows a lost or stolen factor: sessions that proved it must end
	// too, so the next sign-in goes through enrollment.
	if err := a.d.Store.RevokeUserSessions(r.Context(), id); err != nil {
		return httperr.Internal(fmt.Errorf("revoke sessions of user %s after MFA reset: %w", id, err))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// factors returns the user's factors sorted by type, creation and id. creds, when
// not nil, are the user's stored credentials, already read by the caller.
func (a *API) factors(ctx context.Context, userID string, creds []store.Credential) ([]mfa.Factor, error) {
	var fs []mfa.Factor
	if a.d.MFA != nil {
		var err error
		if fs, err = a.d.MFA.Factors(ctx, userID); err != nil {
			return nil, httperr.Internal(fmt.Errorf("list factors of user %s: %w", userID, err))
		}
	} else {
		if creds == nil {
			var err error
			if creds, err = a.d.Store.ListCredentials(ctx, userID); err != nil {
				return nil, storeErr(err, "credentials", "")
			}
		}
		fs = storedFactors(creds)
	}
	slices.SortFunc(fs, func(x, y mfa.Factor) int {
		return cmp.Or(strings.Compare(x.Type, y.Type), x.CreatedAt.Compare(y.CreatedAt), strings.Compare(x.ID, y.ID))
	})
	return fs, nil
}

// storedFactors describes second-factor credentials without the MFA service: type,
// id and creation only, names and last use being the methods' business. Recovery codes
// become one entry, as the MFA service lists them.
func storedFactors(creds []store.Credential) []mfa.Factor {
	var out []mfa.Factor
	codes := 0
	for _, c := range creds {
		switch c.Type {
		case mfa.TypeTOTP, mfa.TypeWebAuthn:
			out = append(out, mfa.Factor{ID: c.ID, Type: c.Type, CreatedAt: c.CreatedAt})
		case mfa.TypeRecovery:
			codes++
		}
	}
	if codes > 0 {
		out = append(out, mfa.Factor{ID: mfa.TypeRecovery, Type: mfa.TypeRecovery, Name: fmt.Sprintf("Recovery codes (%d left)", codes)})
	}
	return out
}

// enrolled reports whether fs holds a factor the user can sign in with.
func enrolled(fs []mfa.Factor) bool {
	return slices.ContainsFunc(fs, func(f mfa.Factor) bool { return f.Type != mfa.TypeRecovery })
}

// factorTypes lists the distinct types in fs, sorted; recovery codes only when asked.
func factorTypes(fs []mfa.Factor, withRecovery bool) []string {
	out := []string{}
	for _, f := range fs {
		if (withRecovery || f.Type != mfa.TypeRecovery) && !slices.Contains(out, f.Type) {
			out = append(out, f.Type)
		}
	}
	slices.Sort(out)
	return out
}

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
