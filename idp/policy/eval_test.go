package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// evalSuite is one testdata/eval/*.json file: named policies and the cases that use them.
type evalSuite struct {
	Description string                     `json:"description"`
	Policies    map[string]evalSuitePolicy `json:"policies"`
	Cases       []evalCase                 `json:"cases"`
}

type evalSuitePolicy struct {
	Kind     string          `json:"kind"`
	Document json.RawMessage `json:"document"`
}

type evalCase struct {
	Name      string              `json:"name"`
	Identity  []string            `json:"identity"`
	Boundary  string              `json:"boundary"`
	Session   *[]string           `json:"session"`
	Trust     string              `json:"trust"`
	Principal evalPrincipal       `json:"principal"`
	Action    string              `json:"action"`
	Resource  string              `json:"resource"`
	Context   map[string][]string `json:"context"`
	Now       string              `json:"now"`

	Want     string   `json:"want"`
	Explicit bool     `json:"explicit"`
	Sid      string   `json:"sid"`   // Sid of the first deciding statement
	Sids     []string `json:"sids"`  // every deciding Sid, in order
	Index    *int     `json:"index"` // statement index of the first deciding statement
	Missing  string   `json:"missing"`
}

type evalPrincipal struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Account string `json:"account"`
}

func parseKind(t testing.TB, s string) Kind {
	t.Helper()
	for _, k := range []Kind{Identity, Trust, Boundary, Session} {
		if k.String() == s {
			return k
		}
	}
	t.Fatalf("unknown kind %q", s)
	return 0
}

func loadSuites(t testing.TB) map[string]evalSuite {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "eval", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no eval suites: %v", err)
	}
	out := map[string]evalSuite{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var s evalSuite
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = s
	}
	return out
}

func compileSuite(t testing.TB, s evalSuite) map[string]*Compiled {
	t.Helper()
	out := map[string]*Compiled{}
	for name, p := range s.Policies {
		d, err := Parse(p.Document, parseKind(t, p.Kind))
		if err != nil {
			t.Fatalf("policy %s: %v", name, err)
		}
		c, err := Compile(name, "v1", d)
		if err != nil {
			t.Fatalf("policy %s: %v", name, err)
		}
		out[name] = c
	}
	return out
}

// TestEvaluateTable runs every case under testdata/eval. The files are the behaviour
// catalogue for SPEC §2; each case states the decision and the statement that decided.
func TestEvaluateTable(t *testing.T) {
	t.Parallel()
	total := 0
	for file, suite := range loadSuites(t) {
		compiled := compileSuite(t, suite)
		get := func(t *testing.T, name string) *Compiled {
			c, ok := compiled[name]
			if !ok {
				t.Fatalf("case names unknown policy %q", name)
			}
			return c
		}
		for _, tc := range suite.Cases {
			total++
			t.Run(file+"/"+tc.Name, func(t *testing.T) {
				t.Parallel()
				opts := Options{}
				if tc.Now != "" {
					now, err := time.Parse(time.RFC3339, tc.Now)
					if err != nil {
						t.Fatal(err)
					}
					opts.Now = func() time.Time { return now }
				} else {
					// A fixed clock far from every window in the tables, so that cases
					// which do not set "now" cannot depend on the day they run.
					opts.Now = func() time.Time { return time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) }
				}
				e := NewEvaluator(opts)
				ctx := Context{}
				for k, v := range tc.Context {
					ctx[k] = v // as written: mixed-case keys exercise the fallback lookup
				}
				p := Principal{Type: tc.Principal.Type, ID: tc.Principal.ID, Account: tc.Principal.Account}
				var d Decision
				if tc.Trust != "" {
					d = e.EvaluateTrust(get(t, tc.Trust), p, tc.Action, ctx)
				} else {
					var set PolicySet
					set.Identity = []*Compiled{}
					for _, n := range tc.Identity {
						set.Identity = append(set.Identity, get(t, n))
					}
					if tc.Boundary != "" {
						set.Boundary = get(t, tc.Boundary)
					}
					if tc.Session != nil {
						set.Session = []*Compiled{}
						for _, n := range *tc.Session {
							set.Session = append(set.Session, get(t, n))
						}
					}
					d = e.Evaluate(Request{Action: tc.Action, Resource: tc.Resource, Principal: p, Context: ctx}, set)
				}
				checkDecision(t, tc, d)
			})
		}
	}
	if total < 150 {
		t.Errorf("only %d evaluation cases; the catalogue must keep at least 150", total)
	}
}

func checkDecision(t *testing.T, tc evalCase, d Decision) {
	t.Helper()
	if d.Effect.String() != tc.Want {
		t.Fatalf("effect = %v, want %s (reason %q, deciding %v)", d.Effect, tc.Want, d.Reason, d.Deciding)
	}
	if d.Explicit != tc.Explicit {
		t.Errorf("explicit = %v, want %v", d.Explicit, tc.Explicit)
	}
	if d.MissingLayer != tc.Missing {
		t.Errorf("missing layer = %q, want %q", d.MissingLayer, tc.Missing)
	}
	if d.Reason == "" {
		t.Error("empty reason")
	}
	if d.Effect == Deny && !d.Explicit && len(d.Deciding) != 0 {
		t.Errorf("implicit deny lists deciding statements %v", d.Deciding)
	}
	if (d.Effect == Allow || d.Explicit) && len(d.Deciding) == 0 {
		t.Fatalf("no deciding statement for %v", d.Effect)
	}
	if tc.Sid != "" && d.Deciding[0].Sid != tc.Sid {
		t.Errorf("deciding sid = %q, want %q (all: %v)", d.Deciding[0].Sid, tc.Sid, d.Deciding)
	}
	if tc.Index != nil && d.Deciding[0].Index != *tc.Index {
		t.Errorf("deciding index = %d, want %d", d.Deciding[0].Index, *tc.Index)
	}
	if tc.Sids != nil {
		var got []string
		for _, r := range d.Deciding {
			got = append(got, r.Sid)
		}
		if !slices.Equal(got, tc.Sids) {
			t.Errorf("deciding sids = %v, want %v", got, tc.Sids)
		}
	}
}
