package api

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/httperr"
)

// CredentialReportRow is one user in the credential report.
type CredentialReportRow struct {
	UserName    string   `json:"user_name"`
	ID          string   `json:"id"`
	Active      bool     `json:"active"`
	Roles       []string `json:"roles"`
	PasswordSet bool     `json:"password_set"`
	// PasswordAgeDays is whole days since the password was last set; null without one.
	PasswordAgeDays *int `json:"password_age_days"`
	MFAEnrolled     bool `json:"mfa_enrolled"`
	// Factors are the second-factor types the user has enrolled, sorted ("totp",
	// "webauthn"); recovery codes are counted in RecoveryCodesLeft instead.
	Factors           []string   `json:"factors"`
	RecoveryCodesLeft int        `json:"recovery_codes_left"`
	LastLoginAt       *time.Time `json:"last_login_at"`
}

// CredentialReport is the response of GET /reports/credentials.
type CredentialReport struct {
	GeneratedAt time.Time             `json:"generated_at"`
	Items       []CredentialReportRow `json:"items"`
}

// credentialReportHeader is the CSV header row; the columns follow CredentialReportRow.
var credentialReportHeader = []string{
	"user_name", "id", "active", "roles", "password_set", "password_age_days",
	"mfa_enrolled", "factors", "recovery_codes_left", "last_login_at",
}

// Report filters (?mfa=).
const (
	mfaFilterNone     = "none"     // users without a second factor
	mfaFilterEnrolled = "enrolled" // users with one
)

func (a *API) mountReports(mux *http.ServeMux) {
	a.route(mux, "GET "+Prefix+"/reports/credentials", "admin.report.credentials", a.credentialReport)
}

func (a *API) credentialReport(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	filter := q.Get("mfa")
	if filter != "" && filter != mfaFilterNone && filter != mfaFilterEnrolled {
		return httperr.BadField("mfa", `must be "none" or "enrolled"`)
	}
	asCSV, err := wantsCSV(q.Get("format"), r.Header.Values("Accept"))
	if err != nil {
		return err
	}
	now := a.d.Now()
	us, err := a.d.Store.ListUsers(r.Context())
	if err != nil {
		return storeErr(err, "users", "")
	}
	rows := make([]CredentialReportRow, 0, len(us))
	for _, u := range us {
		row, err := a.reportRow(r, u, now)
		if err != nil {
			return err
		}
		if (filter == mfaFilterNone && row.MFAEnrolled) || (filter == mfaFilterEnrolled && !row.MFAEnrolled) {
			continue
		}
		rows = append(rows, row)
	}
	// Stable order, so two reports can be diffed: by name as people read it, then id.
	slices.SortFunc(rows, func(x, y CredentialReportRow) int {
		if c := strings.Compare(strings.ToLower(x.UserName), strings.ToLower(y.UserName)); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})

	// The report maps every account's weak spots, so reading it is audited like a
	// change, not only when refused.
	c.target = "report:credentials"
	c.details = map[string]string{"format": "json", "rows": strconv.Itoa(len(rows))}
	if asCSV {
		c.details["format"] = "csv"
	}
	if filter != "" {
		c.details["mfa"] = filter
	}
	w.Header().Add("Vary", "Accept")
	if asCSV {
		body, err := credentialCSV(rows)
		if err != nil {
			return httperr.Internal(fmt.Errorf("write credential report: %w", err))
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8; header=present")
		w.Header().Set("Content-Disposition", `attachment; filename="credential-report.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, err = w.Write(body)
		a.record(r, c, "admin.report.credentials", nil)
		return err
	}
	err = writeJSON(w, http.StatusOK, CredentialReport{GeneratedAt: now.UTC(), Items: rows})
	a.record(r, c, "admin.report.credentials", nil)
	return err
}

func (a *API) reportRow(r *http.Request, u store.User, now time.Time) (CredentialReportRow, error) {
	ctx := r.Context()
	row := CredentialReportRow{
		UserName: u.UserName, ID: u.ID, Active: u.Active,
		Roles: slices.Clone(u.Roles),
	}
	if row.Roles == nil {
		row.Roles = []string{}
	}
	if !u.LastLoginAt.IsZero() {
		t := u.LastLoginAt.UTC()
		row.LastLoginAt = &t
	}
	creds, err := a.d.Store.ListCredentials(ctx, u.ID)
	if err != nil {
		return row, storeErr(err, "credentials", "")
	}
	if creds == nil {
		creds = []store.Credential{}
	}
	recovery := 0
	for _, cr := range creds {
		switch cr.Type {
		case store.CredentialPassword:
			row.PasswordSet = true
			// A clock step backwards must not make a password younger than new.
			days := max(0, int(now.Sub(cr.UpdatedAt)/(24*time.Hour)))
			row.PasswordAgeDays = &days
		case store.CredentialRecovery:
			recovery++
		}
	}
	fs, err := a.factors(ctx, u.ID, creds)
	if err != nil {
		return row, err
	}
	row.MFAEnrolled = enrolled(fs)
	row.Factors = factorTypes(fs, false)
	row.RecoveryCodesLeft = recovery
	if rc, ok := a.d.MFA.(RecoveryCodeCounter); ok {
		if row.RecoveryCodesLeft, err = rc.RecoveryCodesLeft(ctx, u.ID); err != nil {
			return row, httperr.Internal(fmt.Errorf("count recovery codes of user %s: %w", u.ID, err))
		}
	}
	return row, nil
}

// wantsCSV decides the report format: ?format= wins; else the Accept header, with
// JSON unless text/csv is preferred over it (RFC 9110 §12.5.1).
func wantsCSV(format string, accept []string) (bool, error) {
	switch format {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, httperr.BadField("format", `must be "json" or "csv"`)
	}
	return acceptQuality(accept, "text", "csv") > acceptQuality(accept, "application", "json"), nil
}

// acceptQuality is the weight the Accept header values give typ/sub: that of the
// most specific media range matching it (RFC 9110 §12.5.1), 0 when none does. No
// header at all accepts everything equally.
func acceptQuality(values []string, typ, sub string) float64 {
	if len(values) == 0 {
		return 1
	}
	best, q := -1, 0.0
	for _, v := range values {
		for _, rng := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(rng))
			if err != nil {
				continue
			}
			t, s, _ := strings.Cut(mt, "/")
			spec := -1
			switch {
			case t == typ && s == sub:
				spec = 2
			case t == typ && s == "*":
				spec = 1
			case t == "*" && s == "*":
				spec = 0
			}
			if spec <= best {
				continue
			}
			w := 1.0
			if qs, ok := params["q"]; ok {
				if w, ok = parseQValue(qs); !ok {
					continue
				}
			}
			best, q = spec, w
		}
	}
	return q
}

// parseQValue reads a weight as RFC 9110 §12.4.2 writes it: 0 to 1 with at most three
// decimals ("0.5", "1.000"); anything else, NaN and exponents included, is refused.
func parseQValue(s string) (float64, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if (whole != "0" && whole != "1") || len(frac) > 3 {
		return 0, false
	}
	for _, c := range frac {
		if c < '0' || c > '9' || (whole == "1" && c != '0') {
			return 0, false
		}
	}
	w, err := strconv.ParseFloat(s, 64)
	return w, err == nil
}

// credentialCSV renders rows as RFC 4180 CSV with a header row.
func credentialCSV(rows []CredentialReportRow) ([]byte, error) {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.UseCRLF = true // RFC 4180 §2
	if err := cw.Write(credentialReportHeader); err != nil {
		return nil, err
	}
	for _, row := range rows {
		age := ""
		if row.PasswordAgeDays != nil {
			age = strconv.Itoa(*row.PasswordAgeDays)
		}
		last := ""
		if row.LastLoginAt != nil {
			last = row.LastLoginAt.UTC().Format(time.RFC3339)
		}
		rec := []string{
			row.UserName, row.ID, strconv.FormatBool(row.Active), strings.Join(row.Roles, ","),
			strconv.FormatBool(row.PasswordSet), age, strconv.FormatBool(row.MFAEnrolled),
			strings.Join(row.Factors, ","), strconv.Itoa(row.RecoveryCodesLeft), last,
		}
		for i := range rec {
			rec[i] = defuseFormula(rec[i])
		}
		if err := cw.Write(rec); err != nil {
			return nil, err
		}
	}
	cw.Flush()
	return buf.Bytes(), cw.Error()
}

// defuseFormula stops a spreadsheet from running a cell as a formula. User names
// come from SCIM and upstream identity providers, so "=HYPERLINK(...)" is attacker
// input. A leading = + - @ (and tab or carriage return, which some spreadsheets skip
// before looking) gets a single quote in front, which spreadsheets show as text
// (OWASP, CSV Injection).
func defuseFormula(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
