package authz_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/portcullis-id/portcullis/idp/authz"
	"github.com/portcullis-id/portcullis/idp/policy"
	"github.com/portcullis-id/portcullis/store"
)

// fakeStore is an in-memory authz.Store. Lookups ignore case, as the real ones do.
type fakeStore struct {
	mu       sync.Mutex
	roles    map[string]store.Role // lower-cased name →
	policies map[string]store.ManagedPolicy
	reads    atomic.Int64
}

func newFakeStore() *fakeStore {
	return &fakeStore{roles: map[string]store.Role{}, policies: map[string]store.ManagedPolicy{}}
}

func (f *fakeStore) putRole(r store.Role) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roles[strings.ToLower(r.Name)] = r
}

// putPolicy stores p with one version per document, numbered from 1, the last the
// default.
func (f *fakeStore) putPolicy(name string, docs ...string) {
	p := store.ManagedPolicy{Name: name, DefaultVersion: len(docs)}
	for i, d := range docs {
		p.Versions = append(p.Versions, store.PolicyVersion{Version: i + 1, Document: json.RawMessage(d)})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.policies[strings.ToLower(name)] = p
}

func (f *fakeStore) setDefault(name string, v int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.policies[strings.ToLower(name)]
	p.DefaultVersion = v
	f.policies[strings.ToLower(name)] = p
}

func (f *fakeStore) GetRoleByName(_ context.Context, name string) (store.Role, error) {
	f.reads.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.roles[strings.ToLower(name)]
	if !ok {
		return store.Role{}, fmt.Errorf("role %s: %w", name, store.ErrNotFound)
	}
	return r, nil
}

func (f *fakeStore) GetRoleByARN(_ context.Context, arn string) (store.Role, error) {
	f.reads.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.roles {
		if r.ARN == arn {
			return r, nil
		}
	}
	return store.Role{}, fmt.Errorf("role %s: %w", arn, store.ErrNotFound)
}

func (f *fakeStore) GetManagedPolicy(_ context.Context, name string) (store.ManagedPolicy, error) {
	f.reads.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.policies[strings.ToLower(name)]
	if !ok {
		return store.ManagedPolicy{}, fmt.Errorf("managed policy %s: %w", name, store.ErrNotFound)
	}
	return p, nil
}

const deployARN = "arn:portcullis:iam::123456789012:role/ci/deploy"

const (
	s3ReadV1 = `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"arn:aws:s3:::*"}]}`
	s3ReadV2 = `{"Version":"2012-10-17","Statement":[{"Sid":"ReadWrite","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::*"}]}`
	denyProd = `{"Version":"2012-10-17","Statement":[{"Sid":"NoProd","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::prod/*"}]}`
	capDoc   = `{"Version":"2012-10-17","Statement":[{"Sid":"Cap","Effect":"Allow","Action":["s3:*","logs:*"],"Resource":"*"}]}`
	inline   = `{"Version":"2012-10-17","Statement":[
		{"Sid":"Logs","Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*","Condition":{"StringEquals":{"aws:username":"alice"}}},
		{"Sid":"Run","Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"}]}`
)

// fixture is a role with two managed policies, an inline policy and a boundary.
func fixture(t *testing.T) (*fakeStore, *authz.PDP, *policy.Evaluator) {
	t.Helper()
	st := newFakeStore()
	st.putPolicy("S3Read", s3ReadV1, s3ReadV2)
	st.setDefault("S3Read", 1)
	st.putPolicy("DenyProd", denyProd)
	st.putPolicy("Cap", capDoc)
	st.putRole(store.Role{
		ID: "r-1", ARN: deployARN, Name: "deploy", Path: "/ci/",
		ManagedPolicies:    []string{"S3Read", "DenyProd"},
		InlinePolicies:     map[string]json.RawMessage{"ops": json.RawMessage(inline)},
		PermissionBoundary: "Cap",
		Meta:               store.Meta{Version: 3},
	})
	ev := policy.NewEvaluator(policy.Options{})
	return st, authz.New(st, ev), ev
}

func refs(d policy.Decision) []string {
	out := make([]string, len(d.Deciding))
	for i, r := range d.Deciding {
		out[i] = r.String()
	}
	return out
}

func TestCheckDecidesWithEveryLayerOfTheRole(t *testing.T) {
	t.Parallel()
	_, pdp, _ := fixture(t)
	sessionOnlyGet := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	tests := []struct {
		name     string
		req      authz.CheckRequest
		effect   policy.Effect
		explicit bool
		deciding []string
		missing  string
	}{
		{
			name:     "allowed by a managed policy and the boundary",
			req:      authz.CheckRequest{Role: "deploy", Action: "s3:GetObject", Resource: "arn:aws:s3:::data/a"},
			effect:   policy.Allow,
			deciding: []string{"identity:S3Read#Read", "boundary:Cap#Cap"},
		},
		{
			name:     "looked up by ARN",
			req:      authz.CheckRequest{Role: deployARN, Action: "s3:ListBucket", Resource: "arn:aws:s3:::data"},
			effect:   policy.Allow,
			deciding: []string{"identity:S3Read#Read", "boundary:Cap#Cap"},
		},
		{
			name:     "explicit deny in the second managed policy wins",
			req:      authz.CheckRequest{Role: "DEPLOY", Action: "s3:GetObject", Resource: "arn:aws:s3:::prod/secrets"},
			effect:   policy.Deny,
			explicit: true,
			deciding: []string{"identity:DenyProd#NoProd"},
		},
		{
			name:    "implicit deny names the identity layer",
			req:     authz.CheckRequest{Role: "deploy", Action: "iam:CreateUser", Resource: "*"},
			effect:  policy.Deny,
			missing: policy.LayerIdentity,
		},
		{
			name:    "the boundary cuts an inline allow",
			req:     authz.CheckRequest{Role: "deploy", Action: "ec2:RunInstances", Resource: "*"},
			effect:  policy.Deny,
			missing: policy.LayerBoundary,
		},
		{
			name:     "inline policy condition met through the context, key case ignored",
			req:      authz.CheckRequest{Role: "deploy", Action: "logs:PutLogEvents", Resource: "*", Context: map[string][]string{"AWS:UserName": {"alice"}}},
			effect:   policy.Allow,
			deciding: []string{"identity:role/r-1/inline/ops#Logs", "boundary:Cap#Cap"},
		},
		{
			name:    "inline policy condition not met",
			req:     authz.CheckRequest{Role: "deploy", Action: "logs:PutLogEvents", Resource: "*", Context: map[string][]string{"aws:username": {"mallory"}}},
			effect:  policy.Deny,
			missing: policy.LayerIdentity,
		},
		{
			name:     "session policy allows what it names",
			req:      authz.CheckRequest{Role: "deploy", SessionPolicy: sessionOnlyGet, Action: "s3:GetObject", Resource: "arn:aws:s3:::data/a"},
			effect:   policy.Allow,
			deciding: []string{"identity:S3Read#Read", "boundary:Cap#Cap", "session:session_policy#0"},
		},
		{
			name:    "session policy intersects: the role allows, the session does not",
			req:     authz.CheckRequest{Role: "deploy", SessionPolicy: sessionOnlyGet, Action: "s3:ListBucket", Resource: "arn:aws:s3:::data"},
			effect:  policy.Deny,
			missing: policy.LayerSession,
		},
		{
			name:    "a boundary in the request replaces the role's",
			req:     authz.CheckRequest{Role: "deploy", Boundary: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}`), Action: "s3:GetObject", Resource: "arn:aws:s3:::data/a"},
			effect:  policy.Deny,
			missing: policy.LayerBoundary,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := pdp.Check(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			d := res.Decision
			if d.Effect != tc.effect || d.Explicit != tc.explicit || d.MissingLayer != tc.missing {
				t.Fatalf("decision = %+v, want effect %v explicit %v missing %q", d, tc.effect, tc.explicit, tc.missing)
			}
			if got := refs(d); !slices.Equal(got, tc.deciding) && !(len(got) == 0 && len(tc.deciding) == 0) {
				t.Errorf("deciding = %v, want %v", got, tc.deciding)
			}
			if res.Role != deployARN {
				t.Errorf("role = %q, want %q", res.Role, deployARN)
			}
		})
	}
}

func TestCheckRollbackOfDefaultVersionChangesDecision(t *testing.T) {
	t.Parallel()
	st, pdp, _ := fixture(t)
	put := authz.CheckRequest{Role: "deploy", Action: "s3:PutObject", Resource: "arn:aws:s3:::data/a"}
	want := func(step string, effect policy.Effect) {
		t.Helper()
		res, err := pdp.Check(context.Background(), put)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if res.Decision.Effect != effect {
			t.Fatalf("%s: effect = %v (%s), want %v", step, res.Decision.Effect, res.Decision.Reason, effect)
		}
	}
	want("version 1 is the default", policy.Deny)
	st.setDefault("S3Read", 2)
	want("version 2 made the default", policy.Allow)
	st.setDefault("S3Read", 1)
	want("rolled back to version 1", policy.Deny)
}

func TestPolicySetDoesNotServeARecreatedPolicyFromTheCache(t *testing.T) {
	t.Parallel()
	st, pdp, _ := fixture(t)
	req := authz.CheckRequest{Role: "deploy", Action: "s3:PutObject", Resource: "arn:aws:s3:::data/a"}
	st.putPolicy("S3Read", s3ReadV2) // version 1, allows PutObject
	if res, err := pdp.Check(context.Background(), req); err != nil || res.Decision.Effect != policy.Allow {
		t.Fatalf("before: %+v, %v; want Allow", res.Decision, err)
	}
	// Deleted and created again: version 1 once more, with another document.
	st.putPolicy("S3Read", s3ReadV1)
	if res, err := pdp.Check(context.Background(), req); err != nil || res.Decision.Effect != policy.Deny {
		t.Fatalf("after: %+v, %v; want Deny", res.Decision, err)
	}
}

func TestPolicySetCompilesEachPolicyOnceAndAcceptsOneAsIdentityAndBoundary(t *testing.T) {
	t.Parallel()
	st, pdp, ev := fixture(t)
	role, err := st.GetRoleByName(context.Background(), "deploy")
	if err != nil {
		t.Fatal(err)
	}
	role.ManagedPolicies = append(role.ManagedPolicies, "Cap") // Cap is also the boundary
	for range 3 {
		set, err := pdp.PolicySet(context.Background(), role)
		if err != nil {
			t.Fatalf("PolicySet: %v", err)
		}
		if len(set.Identity) != 4 || set.Boundary == nil || set.Session != nil {
			t.Fatalf("set = %d identity, boundary %v, session %v", len(set.Identity), set.Boundary != nil, set.Session)
		}
		if set.Boundary.Kind() != policy.Boundary || set.Identity[2].Kind() != policy.Identity {
			t.Errorf("kinds: boundary %v, identity %v", set.Boundary.Kind(), set.Identity[2].Kind())
		}
	}
	// S3Read, DenyProd, Cap (identity), the inline policy and Cap (boundary).
	if n := ev.CacheLen(); n != 5 {
		t.Errorf("cache holds %d compiled policies, want 5", n)
	}
}

func TestPolicySetRefusesARoleWhosePoliciesDoNotLoad(t *testing.T) {
	t.Parallel()
	st, pdp, _ := fixture(t)
	st.putPolicy("NoDefault", denyProd)
	st.setDefault("NoDefault", 7)
	tests := []struct {
		name     string
		role     store.Role
		notFound bool
		contains string
	}{
		{"missing managed policy", store.Role{Name: "r", ManagedPolicies: []string{"S3Read", "Gone"}}, true, `managed policy "Gone"`},
		{"missing boundary", store.Role{Name: "r", PermissionBoundary: "Gone"}, true, `permissions boundary "Gone"`},
		{"default version not kept", store.Role{Name: "r", ManagedPolicies: []string{"NoDefault"}}, false, "default version 7"},
		{"broken inline policy", store.Role{Name: "r", InlinePolicies: map[string]json.RawMessage{"bad": json.RawMessage(`{"Statement":[]}`)}}, false, `inline policy "bad"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			set, err := pdp.PolicySet(context.Background(), tc.role)
			if err == nil {
				t.Fatalf("PolicySet = %+v, want an error", set)
			}
			if errors.Is(err, store.ErrNotFound) != tc.notFound {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v (err: %v)", !tc.notFound, tc.notFound, err)
			}
			if errors.Is(err, authz.ErrUnknownRole) {
				t.Errorf("a broken role must not read as an unknown role: %v", err)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("err = %q, want it to mention %q", err, tc.contains)
			}
		})
	}
}

func TestCheckUnknownRoleIsNotFound(t *testing.T) {
	t.Parallel()
	_, pdp, _ := fixture(t)
	for _, ref := range []string{"nobody", "arn:portcullis:iam::123456789012:role/nobody"} {
		_, err := pdp.Check(context.Background(), authz.CheckRequest{Role: ref, Action: "s3:GetObject", Resource: "*"})
		if !errors.Is(err, authz.ErrUnknownRole) || !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Check(%q) err = %v, want ErrUnknownRole and store.ErrNotFound", ref, err)
		}
		if errors.Is(err, authz.ErrInvalidRequest) {
			t.Errorf("Check(%q): an unknown role is not a malformed request", ref)
		}
	}
}

func TestCheckMalformedRawPolicyNamesIndexAndPath(t *testing.T) {
	t.Parallel()
	st, pdp, _ := fixture(t)
	good := json.RawMessage(s3ReadV1)
	badEffect := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"s3:GetObject","Resource":"*"}]}`)
	_, err := pdp.Check(context.Background(), authz.CheckRequest{
		Policies:      []json.RawMessage{good, badEffect, json.RawMessage(`{"Version":`)},
		SessionPolicy: json.RawMessage(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Principal":"*"}}`),
		Action:        "s3:GetObject", Resource: "*",
	})
	if !errors.Is(err, authz.ErrInvalidRequest) || !errors.Is(err, policy.ErrInvalidPolicy) {
		t.Fatalf("err = %v, want ErrInvalidRequest and policy.ErrInvalidPolicy", err)
	}
	for _, want := range []string{
		`policies[1]: Statement[0].Effect: "Maybe" is not "Allow" or "Deny"`,
		`policies[2]: invalid policy: unexpected end of JSON`,
		`session_policy: Statement.Principal: not allowed in a session policy`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q\nwant a line %q", err, want)
		}
	}
	var fields []string
	for _, p := range authz.Problems(err) {
		fields = append(fields, p.Field)
	}
	if want := []string{"policies[1].Statement[0].Effect", "policies[2]", "session_policy.Statement.Principal"}; !slices.Equal(fields, want) {
		t.Errorf("problem fields = %v, want %v", fields, want)
	}
	if n := st.reads.Load(); n != 0 {
		t.Errorf("the store was read %d times for a request that was refused", n)
	}
}

func TestCheckRefusesBadRequestsNamingTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		req    authz.CheckRequest
		fields []string
	}{
		{"missing action", authz.CheckRequest{Role: "deploy", Resource: "*"}, []string{"action"}},
		{"action without service", authz.CheckRequest{Role: "deploy", Action: "GetObject", Resource: "*"}, []string{"action"}},
		{"wildcard action", authz.CheckRequest{Role: "deploy", Action: "s3:Get*", Resource: "*"}, []string{"action"}},
		{"missing resource", authz.CheckRequest{Role: "deploy", Action: "s3:GetObject"}, []string{"resource"}},
		{"neither role nor policies", authz.CheckRequest{Action: "s3:GetObject", Resource: "*"}, []string{"role"}},
		{"both role and policies", authz.CheckRequest{Role: "deploy", Policies: []json.RawMessage{json.RawMessage(s3ReadV1)}, Action: "s3:GetObject", Resource: "*"}, []string{"policies"}},
		{"empty context key", authz.CheckRequest{Role: "deploy", Action: "s3:GetObject", Resource: "*", Context: map[string][]string{" ": {"x"}}}, []string{"context"}},
		{"everything at once", authz.CheckRequest{Role: "nobody"}, []string{"action", "resource"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, pdp, _ := fixture(t)
			_, err := pdp.Check(context.Background(), tc.req)
			if !errors.Is(err, authz.ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
			var fields []string
			for _, p := range authz.Problems(err) {
				fields = append(fields, p.Field)
			}
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("fields = %v, want %v", fields, tc.fields)
			}
			if n := st.reads.Load(); n != 0 {
				t.Errorf("the store was read %d times for a request that was refused", n)
			}
		})
	}
}

func TestSimulateEvaluatesEveryActionResourcePair(t *testing.T) {
	t.Parallel()
	_, pdp, _ := fixture(t)
	res, err := pdp.Simulate(context.Background(), authz.SimulateRequest{
		Policies:  []json.RawMessage{json.RawMessage(s3ReadV2), json.RawMessage(denyProd)},
		Boundary:  json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}`),
		Actions:   []string{"s3:GetObject", "s3:PutObject"},
		Resources: []string{"arn:aws:s3:::data/a", "arn:aws:s3:::prod/a"},
	})
	if err != nil {
		t.Fatalf("Simulate: %v", err)
	}
	type row struct {
		action, resource, decision string
	}
	var got []row
	for _, r := range res {
		got = append(got, row{r.Action, r.Resource, fmt.Sprintf("%v/%v/%s", r.Decision.Effect, r.Decision.Explicit, r.Decision.MissingLayer)})
		if r.Role != "" {
			t.Errorf("role = %q for raw policies, want empty", r.Role)
		}
	}
	want := []row{
		{"s3:GetObject", "arn:aws:s3:::data/a", "Allow/false/"},
		{"s3:GetObject", "arn:aws:s3:::prod/a", "Deny/true/"},
		{"s3:PutObject", "arn:aws:s3:::data/a", "Deny/false/boundary"},
		{"s3:PutObject", "arn:aws:s3:::prod/a", "Deny/true/"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("results =\n%v\nwant\n%v", got, want)
	}
	if d := res[1].Decision; len(d.Deciding) != 1 || d.Deciding[0].Policy != "policies[1]" {
		t.Errorf("explicit deny deciding = %v, want the statement of policies[1]", d.Deciding)
	}
}

func TestSimulateDefaultsResourceAndBoundsPairs(t *testing.T) {
	t.Parallel()
	_, pdp, _ := fixture(t)
	res, err := pdp.Simulate(context.Background(), authz.SimulateRequest{Role: "deploy", Actions: []string{"logs:PutLogEvents", "iam:GetRole"}})
	if err != nil {
		t.Fatalf("Simulate: %v", err)
	}
	if len(res) != 2 || res[0].Resource != "*" || res[0].Role != deployARN {
		t.Fatalf("results = %+v, want two on resource \"*\" for %s", res, deployARN)
	}
	many := make([]string, authz.MaxSimulatePairs/2+1)
	for i := range many {
		many[i] = fmt.Sprintf("arn:aws:s3:::b/%d", i)
	}
	_, err = pdp.Simulate(context.Background(), authz.SimulateRequest{Role: "deploy", Actions: []string{"s3:GetObject", "s3:PutObject"}, Resources: many})
	if ps := authz.Problems(err); len(ps) != 1 || ps[0].Field != "resources" {
		t.Errorf("too many pairs: problems = %v (err %v), want one on resources", ps, err)
	}
	_, err = pdp.Simulate(context.Background(), authz.SimulateRequest{Role: "deploy", Actions: []string{"s3:GetObject", "s3"}, Resources: []string{"*", ""}})
	var fields []string
	for _, p := range authz.Problems(err) {
		fields = append(fields, p.Field)
	}
	if want := []string{"actions[1]", "resources[1]"}; !slices.Equal(fields, want) {
		t.Errorf("fields = %v, want %v", fields, want)
	}
}
