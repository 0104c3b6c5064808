package declare

import (
	"context"
	"strings"
	"testing"
)

func TestApplyClientRequireMFAIsDiffed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, st, _ := newTestReconciler(t)
	const doc = "clients:\n  - id: payroll\n    redirect_uris: [https://payroll.example.com/cb]\n    require_mfa: true\n"
	steps := []struct {
		name string
		doc  string
		plan string
		want bool
	}{
		{"create with require_mfa", doc, "create client payroll", true},
		{"same again is unchanged", doc, "unchanged client payroll", true},
		{"removed key clears it", strings.Replace(doc, "    require_mfa: true\n", "", 1), "update client payroll (require_mfa)", false},
		{"set again", doc, "update client payroll (require_mfa)", true},
	}
	// Steps run in order: each applies on top of the previous one.
	for _, s := range steps {
		res, err := r.Apply(ctx, mustParse(t, s.doc), Options{})
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		wantPlan(t, res, s.plan)
		c, err := st.GetClient(ctx, "payroll")
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if c.RequireMFA != s.want {
			t.Fatalf("%s: RequireMFA = %v, want %v", s.name, c.RequireMFA, s.want)
		}
	}
}

func TestParseRequireMFAMustBeBoolean(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("clients:\n  - id: x\n    require_mfa: sometimes\n"), "c.yaml")
	if err == nil || !strings.Contains(err.Error(), "c.yaml:3") || !strings.Contains(err.Error(), "clients[0].require_mfa") {
		t.Fatalf("err = %v, want one naming c.yaml:3 and clients[0].require_mfa", err)
	}
}
