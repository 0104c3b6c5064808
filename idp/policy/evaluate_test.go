package policy

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func mustCompile(t testing.TB, name string, kind Kind, src string) *Compiled {
	t.Helper()
	d, err := Parse([]byte(src), kind)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	c, err := Compile(name, "v1", d)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

func TestEvaluateTrustRefusesNonTrustPolicy(t *testing.T) {
	t.Parallel()
	id := mustCompile(t, "id", Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	var e Evaluator
	for _, c := range []*Compiled{nil, id} {
		d := e.EvaluateTrust(c, Principal{Type: PrincipalService, ID: "x"}, "sts:AssumeRole", nil)
		if d.Effect != Deny || d.MissingLayer != LayerTrust {
			t.Fatalf("decision = %+v, want implicit deny naming trust", d)
		}
	}
}

func TestEvaluateSkipsNilPolicies(t *testing.T) {
	t.Parallel()
	id := mustCompile(t, "id", Identity, `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	var e Evaluator
	d := e.Evaluate(Request{Action: "s3:GetObject", Resource: "*"}, PolicySet{Identity: []*Compiled{nil, id}, Session: []*Compiled{nil}})
	if d.Effect != Deny || d.MissingLayer != LayerSession {
		t.Fatalf("decision = %+v, want deny for the session layer", d)
	}
}

func TestGlobMatchEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, s string
		fold, want bool
	}{
		{"", "", false, true},
		{"", "a", false, false},
		{"*", "", false, true},
		{"a*", "a", false, true},
		{"*a", "ba", false, true},
		{"*a", "ab", false, false},
		{"a*b*c", "aXbYc", false, true},
		{"a*b*c", "aXbY", false, false},
		{"*a*a*a*a*b", strings.Repeat("a", 200), false, false},
		{"?", "é", false, true},
		{"??", "é", false, false},
		{"S3:GET*", "s3:getobject", true, true},
		{"S3:GET*", "s3:putobject", true, false},
		{"straße", "STRASSE", true, false}, // simple folding only, as strings.EqualFold
		{"ǅ*", "ǆx", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+"|"+tc.s, func(t *testing.T) {
			t.Parallel()
			p, err := compilePattern(tc.pattern, false, true, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.match(tc.s, nil, tc.fold); got != tc.want {
				t.Fatalf("match(%q, %q, fold=%v) = %v, want %v", tc.pattern, tc.s, tc.fold, got, tc.want)
			}
			if got := globMatch(p.toks, tc.s, tc.fold); got != tc.want {
				t.Fatalf("general matcher (%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
			}
		})
	}
}

func TestEvaluatorCacheIsBounded(t *testing.T) {
	t.Parallel()
	e := NewEvaluator(Options{CacheSize: 3})
	src := []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	first, err := e.CompileJSON("p0", "v1", Identity, src)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := e.CompileJSON("p0", "v1", Identity, []byte("not even json: served from the cache"))
	if again != first {
		t.Fatal("cache miss for an existing (name, version)")
	}
	if _, err := e.CompileJSON("p0", "v1", Trust, src); err == nil {
		t.Fatal("cached identity policy returned for a trust lookup")
	}
	for i := 1; i < 10; i++ {
		if _, err := e.CompileJSON(fmt.Sprintf("p%d", i), "v1", Identity, src); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.CacheLen(); n != 3 {
		t.Fatalf("cache holds %d entries, want 3", n)
	}
	if c, _ := e.CompileJSON("p0", "v1", Identity, src); c == first {
		t.Fatal("evicted entry still returned")
	}
	if _, err := e.CompileJSON("bad", "v1", Identity, []byte(`{}`)); err == nil {
		t.Fatal("invalid policy cached or accepted")
	}
}

// TestEvaluateAllocations keeps the hot path honest: an Allow allocates only its
// Deciding slice and an implicit deny nothing at all.
func TestEvaluateAllocations(t *testing.T) {
	e, req, set := realisticRole(t)
	if d := e.Evaluate(req, set); d.Effect != Allow {
		t.Fatalf("benchmark request not allowed: %+v", d)
	}
	if n := testing.AllocsPerRun(100, func() { e.Evaluate(req, set) }); n > 2 {
		t.Errorf("Allow allocates %.0f times, want ≤ 2", n)
	}
	req.Action = "kms:Decrypt"
	if n := testing.AllocsPerRun(100, func() { e.Evaluate(req, set) }); n != 0 {
		t.Errorf("implicit deny allocates %.0f times, want 0", n)
	}
}

// TestAddingDenyNeverAllows is the monotonicity property of SPEC §2.4: adding a Deny
// statement to any policy of any layer can only remove permissions. Policy sets,
// requests and the added statement come from a seeded generator so failures replay.
func TestAddingDenyNeverAllows(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	var e Evaluator
	for iter := range 400 {
		set, docs := randomSet(rng)
		req := randomRequest(rng)
		before := e.Evaluate(req, set)

		// Add one random Deny to one random existing document and recompile.
		li := rng.IntN(len(docs))
		d := docs[li]
		d.doc.Statements = append(d.doc.Statements, randomStatement(rng, EffectDeny))
		c, err := Compile(d.name, "v2", d.doc)
		if err != nil {
			t.Fatalf("iteration %d: %v", iter, err)
		}
		*d.slot = c
		after := e.Evaluate(req, set)
		if before.Effect == Deny && after.Effect == Allow {
			t.Fatalf("iteration %d: adding %+v turned Deny into Allow for %+v", iter, d.doc.Statements[len(d.doc.Statements)-1], req)
		}
		if before.Explicit && !after.Explicit {
			t.Fatalf("iteration %d: explicit deny lost", iter)
		}
	}
}

type genDoc struct {
	name string
	doc  *Document
	slot **Compiled
}

var (
	genActions   = []string{"*", "s3:*", "s3:Get*", "s3:GetObject", "ec2:Describe*", "iam:PassRole", "s3:?utObject"}
	genResources = []string{"*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/k?", "arn:aws:s3:::home/${aws:username}/*", "arn:aws:ec2:*:*:instance/*"}
	genConds     = []Condition{
		{Operator: "StringEquals", Key: "aws:username", Values: []string{"alice"}},
		{Operator: "StringNotLike", Key: "aws:username", Values: []string{"a*"}},
		{Operator: "ForAllValues:StringEquals", Key: "aws:TagKeys", Values: []string{"env"}},
		{Operator: "ForAnyValue:StringEquals", Key: "aws:TagKeys", Values: []string{"env"}},
		{Operator: "Null", Key: "aws:TagKeys", Values: []string{"true"}},
		{Operator: "IpAddressIfExists", Key: "aws:SourceIp", Values: []string{"10.0.0.0/8"}},
		{Operator: "NotIpAddress", Key: "aws:SourceIp", Values: []string{"10.0.0.0/8"}},
		{Operator: "NumericLessThan", Key: "s3:max-keys", Values: []string{"10"}},
		{Operator: "Bool", Key: "aws:SecureTransport", Values: []string{"true"}},
	}
	genReqActions   = []string{"s3:GetObject", "s3:PutObject", "ec2:DescribeInstances", "iam:PassRole"}
	genReqResources = []string{"arn:aws:s3:::b/k1", "arn:aws:s3:::home/alice/x", "arn:aws:ec2:us-east-1:1:instance/i-1", "*"}
)

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func randomStatement(rng *rand.Rand, effect string) Statement {
	s := Statement{Effect: effect}
	if rng.IntN(5) == 0 {
		s.NotAction = []string{pick(rng, genActions)}
	} else {
		s.Action = []string{pick(rng, genActions)}
	}
	if rng.IntN(5) == 0 {
		s.NotResource = []string{pick(rng, genResources)}
	} else {
		s.Resource = []string{pick(rng, genResources)}
	}
	used := map[string]bool{}
	for range rng.IntN(3) {
		c := pick(rng, genConds)
		if !used[c.Operator] {
			s.Conditions = append(s.Conditions, c)
			used[c.Operator] = true
		}
	}
	return s
}

func randomDoc(rng *rand.Rand, kind Kind) *Document {
	d := &Document{Version: Version2012, Kind: kind}
	for range 1 + rng.IntN(4) {
		eff := EffectAllow
		if rng.IntN(4) == 0 {
			eff = EffectDeny
		}
		d.Statements = append(d.Statements, randomStatement(rng, eff))
	}
	return d
}

func randomSet(rng *rand.Rand) (PolicySet, []genDoc) {
	var set PolicySet
	var docs []genDoc
	n := 1 + rng.IntN(3)
	set.Identity = make([]*Compiled, n)
	for i := range n {
		d := randomDoc(rng, Identity)
		set.Identity[i], _ = Compile(fmt.Sprint("id", i), "v1", d)
		docs = append(docs, genDoc{fmt.Sprint("id", i), d, &set.Identity[i]})
	}
	if rng.IntN(2) == 0 {
		d := randomDoc(rng, Boundary)
		set.Boundary, _ = Compile("boundary", "v1", d)
		docs = append(docs, genDoc{"boundary", d, &set.Boundary})
	}
	if rng.IntN(2) == 0 {
		set.Session = make([]*Compiled, 1)
		d := randomDoc(rng, Session)
		set.Session[0], _ = Compile("session", "v1", d)
		docs = append(docs, genDoc{"session", d, &set.Session[0]})
	}
	return set, docs
}

func randomRequest(rng *rand.Rand) Request {
	ctx := Context{}
	if rng.IntN(2) == 0 {
		ctx.Set("aws:username", pick(rng, []string{"alice", "bob"}))
	}
	switch rng.IntN(3) {
	case 0:
		ctx.Set("aws:TagKeys")
	case 1:
		ctx.Set("aws:TagKeys", "env", pick(rng, []string{"env", "team"}))
	}
	if rng.IntN(2) == 0 {
		ctx.Set("aws:SourceIp", pick(rng, []string{"10.1.2.3", "192.0.2.1"}))
	}
	if rng.IntN(2) == 0 {
		ctx.Set("s3:max-keys", pick(rng, []string{"5", "50"}))
	}
	if rng.IntN(2) == 0 {
		ctx.Set("aws:SecureTransport", pick(rng, []string{"true", "false"}))
	}
	return Request{Action: pick(rng, genReqActions), Resource: pick(rng, genReqResources), Context: ctx}
}

// FuzzEvaluate: evaluation never panics whatever the policy text and request, a policy
// that does not parse grants nothing, and a malformed request is denied.
func FuzzEvaluate(f *testing.F) {
	for _, s := range loadSuites(f) {
		for _, p := range s.Policies {
			if p.Kind == "identity" {
				for _, c := range s.Cases {
					var k, v string
					for ck, cv := range c.Context {
						k = ck
						if len(cv) > 0 {
							v = cv[0]
						}
						break
					}
					f.Add([]byte(p.Document), c.Action, c.Resource, k, v)
					break
				}
			}
		}
	}
	f.Add([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`), "nocolon", "*", "", "")
	f.Fuzz(func(t *testing.T, policy []byte, action, resource, key, value string) {
		var e Evaluator
		req := Request{Action: action, Resource: resource, Context: Context{}}
		if key != "" {
			req.Context[key] = []string{value}
		}
		var set PolicySet
		d, err := Parse(policy, Identity)
		if err == nil {
			c, err := Compile("fuzz", "v", d)
			if err != nil {
				t.Fatalf("parsed policy does not compile: %v", err)
			}
			set.Identity = []*Compiled{c}
		}
		dec := e.Evaluate(req, set)
		if set.Identity == nil && dec.Effect != Deny {
			t.Fatal("allowed without a valid policy")
		}
		svc, op, ok := strings.Cut(action, ":")
		if (!ok || svc == "" || op == "" || resource == "") && dec.Effect != Deny {
			t.Fatalf("malformed request %q on %q allowed", action, resource)
		}
		if dec.Effect == Allow && len(dec.Deciding) == 0 {
			t.Fatal("allow without a deciding statement")
		}
		if set.Identity != nil {
			_ = e.EvaluateTrust(set.Identity[0], Principal{Type: PrincipalFederated, ID: value}, action, req.Context)
		}
	})
}
