package authz_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/idp/audit"
	idpauthz "github.com/portcullis-id/portcullis/idp/authz"
	"github.com/portcullis-id/portcullis/idp/policy"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/authz"
	"github.com/portcullis-id/portcullis/web/httperr"
)

// fakeStore is an in-memory idpauthz.Store.
type fakeStore struct {
	roles    map[string]store.Role
	policies map[string]store.ManagedPolicy
}

func (f *fakeStore) GetRoleByName(_ context.Context, name string) (store.Role, error) {
	if r, ok := f.roles[strings.ToLower(name)]; ok {
		return r, nil
	}
	return store.Role{}, fmt.Errorf("role %s: %w", name, store.ErrNotFound)
}

func (f *fakeStore) GetRoleByARN(_ context.Context, arn string) (store.Role, error) {
	for _, r := range f.roles {
		if r.ARN == arn {
			return r, nil
		}
	}
	return store.Role{}, fmt.Errorf("role %s: %w", arn, store.ErrNotFound)
}

func (f *fakeStore) GetManagedPolicy(_ context.Context, name string) (store.ManagedPolicy, error) {
	if p, ok := f.policies[strings.ToLower(name)]; ok {
		return p, nil
	}
	return store.ManagedPolicy{}, fmt.Errorf("managed policy %s: %w", name, store.ErrNotFound)
}

// recorder keeps audit events for inspection.
type recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *recorder) Record(_ context.Context, e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) all() []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

const deployARN = "arn:portcullis:iam::123456789012:role/deploy"

// clock is the instant every request sees: one second before 2030 (epoch 1893456000).
var clock = time.Date(2029, 12, 31, 23, 59, 59, 0, time.UTC)

// tokens maps bearer tokens to (actor, roles) for the fake Authenticate.
var tokens = map[string]struct {
	actor string
	roles []string
}{
	"admin-tok":  {"token:admin", []string{"admin"}},
	"pdp-tok":    {"token:svc", []string{"pdp"}},
	"viewer-tok": {"token:viewer", []string{"viewer"}},
}

func authenticate(r *http.Request) (string, []string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", nil, &httperr.Error{Status: http.StatusUnauthorized, Code: "unauthorized", Msg: "a token is required"}
	}
	t, ok := tokens[strings.TrimPrefix(h, "Bearer ")]
	if !ok {
		return "", nil, &httperr.Error{Status: http.StatusUnauthorized, Code: "invalid_token", Msg: "the token is unknown"}
	}
	return t.actor, t.roles, nil
}

// newServerStore holds a role "deploy" that may read S3 outside prod/, and call
// ec2:DescribeInstances until 2030.
func newServerStore() *fakeStore {
	pol := func(name, doc string) store.ManagedPolicy {
		return store.ManagedPolicy{Name: name, DefaultVersion: 1, Versions: []store.PolicyVersion{{Version: 1, Document: json.RawMessage(doc)}}}
	}
	return &fakeStore{
		policies: map[string]store.ManagedPolicy{
			"s3read": pol("S3Read", `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":"*"},
				{"Sid":"Until2030","Effect":"Allow","Action":"ec2:DescribeInstances","Resource":"*","Condition":{"NumericLessThan":{"aws:EpochTime":"1893456000"}}}]}`),
			"noprod": pol("NoProd", `{"Version":"2012-10-17","Statement":[{"Sid":"NoProd","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::prod/*"}]}`),
		},
		roles: map[string]store.Role{
			"deploy": {ID: "r-1", Name: "deploy", ARN: deployARN, ManagedPolicies: []string{"S3Read", "NoProd"}, Meta: store.Meta{Version: 1}},
		},
	}
}

// newServer runs the handlers on httptest with the role of newServerStore.
func newServer(t *testing.T) (*httptest.Server, *recorder) {
	t.Helper()
	st := newServerStore()
	rec := &recorder{}
	h := authz.New(authz.Deps{
		PDP:          idpauthz.New(st, nil),
		Authenticate: authenticate,
		Audit:        rec,
		Now:          func() time.Time { return clock },
	})
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, rec
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func post(t *testing.T, srv *httptest.Server, token, path, body string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := reply{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		t.Fatalf("response %d is not a JSON object: %q", resp.StatusCode, raw)
	}
	return out
}

// deciding renders the "deciding" list as layer:policy#sid strings.
func deciding(t *testing.T, v any) []string {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("deciding = %#v, want a list", v)
	}
	out := []string{}
	for _, e := range list {
		m := e.(map[string]any)
		out = append(out, fmt.Sprintf("%s:%s#%s", m["layer"], m["policy"], m["sid"]))
	}
	return out
}

func TestCheckAnswersAllowAndDenyWith200AndAuditsTheDecision(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, token, body string
		decision          string
		explicit          bool
		deciding          []string
		missing           any
	}{
		{"allow", "pdp-tok", `{"role":"deploy","action":"s3:GetObject","resource":"arn:aws:s3:::data/a"}`, "allow", false, []string{"identity:S3Read#Read"}, nil},
		{"explicit deny, by ARN, admin caller", "admin-tok", `{"role":"` + deployARN + `","action":"s3:GetObject","resource":"arn:aws:s3:::prod/a"}`, "deny", true, []string{"identity:NoProd#NoProd"}, nil},
		{"implicit deny", "pdp-tok", `{"role":"deploy","action":"s3:PutObject","resource":"arn:aws:s3:::data/a","context":{"aws:username":["alice"]}}`, "deny", false, []string{}, "identity"},
		{"the server clock fills aws:EpochTime", "pdp-tok", `{"role":"deploy","action":"ec2:DescribeInstances","resource":"*"}`, "allow", false, []string{"identity:S3Read#Until2030"}, nil},
		{"a caller's aws:EpochTime is used", "pdp-tok", `{"role":"deploy","action":"ec2:DescribeInstances","resource":"*","context":{"AWS:EpochTime":["1900000000"]}}`, "deny", false, []string{}, "identity"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, rec := newServer(t)
			r := post(t, srv, tc.token, authz.CheckPath, tc.body)
			if r.status != http.StatusOK {
				t.Fatalf("status = %d, body %v", r.status, r.body)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", r.header.Get("Cache-Control"))
			}
			b := r.body
			if b["decision"] != tc.decision || b["explicit"] != tc.explicit || b["missing_layer"] != tc.missing || b["role"] != deployARN {
				t.Errorf("body = %v", b)
			}
			if got := deciding(t, b["deciding"]); !slices.Equal(got, tc.deciding) {
				t.Errorf("deciding = %v, want %v", got, tc.deciding)
			}
			if b["reason"] == "" {
				t.Error("no reason given")
			}
			ev := rec.all()
			if len(ev) != 1 {
				t.Fatalf("audit events = %+v, want one", ev)
			}
			e := ev[0]
			if e.Action != authz.ActionCheck || e.Outcome != tc.decision || e.Target != "role:"+deployARN || e.Actor != tokens[tc.token].actor {
				t.Errorf("audit event = %+v", e)
			}
			if e.Details["reason"] != b["reason"] {
				t.Errorf("audit reason = %q, response reason %q", e.Details["reason"], b["reason"])
			}
		})
	}
}

func TestCheckRefusesBadInputNamingTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		status int
		field  any
	}{
		{"missing action", `{"role":"deploy","resource":"*"}`, 400, "action"},
		{"malformed action", `{"role":"deploy","action":"s3","resource":"*"}`, 400, "action"},
		{"missing resource", `{"role":"deploy","action":"s3:GetObject"}`, 400, "resource"},
		{"missing role", `{"action":"s3:GetObject","resource":"*"}`, 400, "role"},
		{"unknown field", `{"role":"deploy","action":"s3:GetObject","resouce":"*"}`, 400, "resouce"},
		{"raw policies are for simulation only", `{"role":"deploy","action":"s3:GetObject","resource":"*","policies":[]}`, 400, "policies"},
		{"wrong type", `{"role":"deploy","action":7,"resource":"*"}`, 400, "action"},
		{"two objects", `{"role":"deploy","action":"s3:GetObject","resource":"*"} {}`, 400, nil},
		{"not JSON", `role=deploy`, 400, nil},
		{"too large", `{"role":"deploy","action":"s3:GetObject","resource":"` + strings.Repeat("a", 64<<10) + `"}`, 413, nil},
		{"unknown role", `{"role":"nobody","action":"s3:GetObject","resource":"*"}`, 404, "role"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, rec := newServer(t)
			r := post(t, srv, "pdp-tok", authz.CheckPath, tc.body)
			if r.status != tc.status || r.body["field"] != tc.field {
				t.Fatalf("status %d field %v (body %v), want %d field %v", r.status, r.body["field"], r.body, tc.status, tc.field)
			}
			ev := rec.all()
			if len(ev) != 1 || ev[0].Outcome != audit.Failure || ev[0].Action != authz.ActionCheck || ev[0].Reason == "" {
				t.Errorf("audit events = %+v, want one failure with a reason", ev)
			}
		})
	}
}

func TestEndpointsRequireTheirCallerRoles(t *testing.T) {
	t.Parallel()
	check := `{"role":"deploy","action":"s3:GetObject","resource":"*"}`
	simulate := `{"role":"deploy","actions":["s3:GetObject"]}`
	tests := []struct {
		name, token, path, body string
		status                  int
		challenge               string // WWW-Authenticate
		audited                 string // outcome, "" when not audited
	}{
		{"no credentials", "", authz.CheckPath, check, 401, `Bearer realm="portcullis-admin"`, ""},
		{"unknown token", "stolen", authz.CheckPath, check, 401, `Bearer realm="portcullis-admin", error="invalid_token"`, audit.Denied},
		{"viewer may not check", "viewer-tok", authz.CheckPath, check, 403, "", audit.Denied},
		{"pdp may not simulate", "pdp-tok", authz.SimulatePath, simulate, 403, "", audit.Denied},
		{"admin may check", "admin-tok", authz.CheckPath, check, 200, "", authz.OutcomeAllow},
		{"admin may simulate", "admin-tok", authz.SimulatePath, simulate, 200, "", audit.Success},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, rec := newServer(t)
			r := post(t, srv, tc.token, tc.path, tc.body)
			if r.status != tc.status {
				t.Fatalf("status = %d (%v), want %d", r.status, r.body, tc.status)
			}
			if got := r.header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.challenge)
			}
			ev := rec.all()
			switch {
			case tc.audited == "" && len(ev) != 0:
				t.Errorf("audited %+v, want nothing", ev)
			case tc.audited != "" && (len(ev) != 1 || ev[0].Outcome != tc.audited):
				t.Errorf("audit events = %+v, want one with outcome %s", ev, tc.audited)
			}
		})
	}
}

func TestSimulateReturnsEveryPairForARoleOrRawPolicies(t *testing.T) {
	t.Parallel()
	srv, rec := newServer(t)
	r := post(t, srv, "admin-tok", authz.SimulatePath, `{
		"policies": [
			{"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Action":"s3:*","Resource":"*"}]},
			{"Version":"2012-10-17","Statement":[{"Sid":"NoProd","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::prod/*"}]}
		],
		"boundary": {"Version":"2012-10-17","Statement":[{"Sid":"Reads","Effect":"Allow","Action":"s3:Get*","Resource":"*"}]},
		"session_policy": null,
		"actions": ["s3:GetObject", "s3:PutObject"],
		"resources": ["arn:aws:s3:::data/a", "arn:aws:s3:::prod/a"]
	}`)
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, body %v", r.status, r.body)
	}
	if _, ok := r.body["role"]; ok {
		t.Errorf("role = %v for raw policies, want it absent", r.body["role"])
	}
	var got []string
	for _, v := range r.body["results"].([]any) {
		m := v.(map[string]any)
		got = append(got, fmt.Sprintf("%s %s %s %v %v %v", m["action"], m["resource"], m["decision"], m["explicit"], m["missing_layer"], deciding(t, m["deciding"])))
	}
	want := []string{
		"s3:GetObject arn:aws:s3:::data/a allow false <nil> [identity:policies[0]#All boundary:boundary#Reads]",
		"s3:GetObject arn:aws:s3:::prod/a deny true <nil> [identity:policies[1]#NoProd]",
		"s3:PutObject arn:aws:s3:::data/a deny false boundary []",
		"s3:PutObject arn:aws:s3:::prod/a deny true <nil> [identity:policies[1]#NoProd]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("results:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	ev := rec.all()
	if len(ev) != 1 || ev[0].Action != authz.ActionSimulate || ev[0].Outcome != audit.Success ||
		ev[0].Details["pairs"] != "4" || ev[0].Details["allowed"] != "1" || ev[0].Details["denied"] != "3" || ev[0].Details["policies"] != "2" {
		t.Errorf("audit events = %+v", ev)
	}

	r = post(t, srv, "admin-tok", authz.SimulatePath, `{"role":"DEPLOY","actions":["s3:GetObject"],"session_policy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}}`)
	if r.status != http.StatusOK || r.body["role"] != deployARN {
		t.Fatalf("role simulation: status %d body %v", r.status, r.body)
	}
	res := r.body["results"].([]any)[0].(map[string]any)
	if res["resource"] != "*" || res["decision"] != "deny" || res["missing_layer"] != policy.LayerSession {
		t.Errorf("role simulation result = %v, want a deny on \"*\" for want of a session policy allow", res)
	}
	if ev := rec.all(); len(ev) != 2 || ev[1].Target != "role:"+deployARN {
		t.Errorf("audit events = %+v, want the second to target the role", ev)
	}
}

func TestSimulateReportsEveryMalformedPolicyWithItsPath(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	r := post(t, srv, "admin-tok", authz.SimulatePath, `{
		"policies": [
			{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]},
			{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"s3:*","Resource":"*"}]}
		],
		"boundary": {"Statement":"nope"},
		"actions": ["s3:GetObject", "s3:*"]
	}`)
	if r.status != http.StatusBadRequest || r.body["error"] != "invalid_field" {
		t.Fatalf("status = %d, body %v", r.status, r.body)
	}
	var fields []string
	for _, v := range r.body["errors"].([]any) {
		fields = append(fields, v.(map[string]any)["field"].(string))
	}
	if !slices.Contains(fields, "actions[1]") || !slices.Contains(fields, "policies[1].Statement[0].Effect") || !slices.ContainsFunc(fields, func(f string) bool { return strings.HasPrefix(f, "boundary") }) {
		t.Errorf("fields = %v, want actions[1], policies[1].Statement[0].Effect and a boundary problem", fields)
	}
	if slices.ContainsFunc(fields, func(f string) bool { return strings.HasPrefix(f, "policies[0]") }) {
		t.Errorf("fields = %v name the valid policies[0]", fields)
	}
}

func TestAllowsAreSampledDeniesAlwaysAudited(t *testing.T) {
	t.Parallel()
	st := newServerStore()
	rec := &recorder{}
	zero := 0.0
	h := authz.New(authz.Deps{
		PDP: idpauthz.New(st, nil), Authenticate: authenticate, Audit: rec,
		Now: func() time.Time { return clock }, AllowSampleRate: &zero,
	})
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	allow := `{"role":"deploy","action":"s3:GetObject","resource":"arn:aws:s3:::data/a"}`
	deny := `{"role":"deploy","action":"s3:PutObject","resource":"arn:aws:s3:::data/a"}`
	for range 3 {
		if r := post(t, srv, "pdp-tok", "/authz/v1/check", allow); r.body["decision"] != "allow" {
			t.Fatalf("allow: %v", r.body)
		}
	}
	if r := post(t, srv, "pdp-tok", "/authz/v1/check", deny); r.body["decision"] != "deny" {
		t.Fatalf("deny: %v", r.body)
	}
	evs := rec.all()
	if len(evs) != 1 || evs[0].Outcome != "deny" {
		t.Fatalf("with allow sampling 0 only the deny is audited, got %+v", evs)
	}
}
