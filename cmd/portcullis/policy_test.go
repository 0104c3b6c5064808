package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// policyFixture names a file under idp/policy/testdata/cli, shared with the package
// tests so that the CLI runs on the same documents.
func policyFixture(name string) string {
	return filepath.Join("..", "..", "idp", "policy", "testdata", "cli", name)
}

func runPolicyCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newPolicyCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err := cmd.Execute()
	return out.String(), err
}

func TestPolicyValidateReportsErrorsWithPathsAndFails(t *testing.T) {
	t.Parallel()
	out, err := runPolicyCmd(t, "validate", policyFixture("identity.json"), policyFixture("invalid.json"))
	if err == nil || !strings.Contains(err.Error(), "1 of 2 policy files are invalid") {
		t.Fatalf("err = %v, want a failure naming one invalid file", err)
	}
	want := policyFixture("invalid.json") + `: error: Statement[1].Condition.StringLike["aws:username"]: value must be a string or list of strings`
	if !strings.Contains(out, want) {
		t.Fatalf("output lacks %q:\n%s", want, out)
	}
	if !strings.Contains(out, policyFixture("identity.json")+": ok\n") {
		t.Fatalf("valid file not reported ok:\n%s", out)
	}
}

func TestPolicyValidatePrintsWarningsWithoutFailing(t *testing.T) {
	t.Parallel()
	out, err := runPolicyCmd(t, "validate", policyFixture("risky.json"))
	if err != nil {
		t.Fatalf("warnings must not fail validation: %v", err)
	}
	if !strings.Contains(out, "warning: Statement[0]: allows every action on every resource") || !strings.Contains(out, "[allow-all]") {
		t.Fatalf("allow-all warning missing:\n%s", out)
	}
}

func TestPolicyValidateTrustKind(t *testing.T) {
	t.Parallel()
	out, err := runPolicyCmd(t, "validate", "--kind", "trust", policyFixture("trust-github.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "[federated-without-sub-or-aud]") {
		t.Fatalf("federated warning missing:\n%s", out)
	}
	// The same file is not an identity policy: it names a principal and no resource.
	if _, err := runPolicyCmd(t, "validate", policyFixture("trust-github.json")); err == nil {
		t.Fatal("trust policy accepted as an identity policy")
	}
	if _, err := runPolicyCmd(t, "validate", "--kind", "scp", policyFixture("risky.json")); err == nil {
		t.Fatal("unknown kind accepted")
	}
	if _, err := runPolicyCmd(t, "validate", policyFixture("no-such-file.json")); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestPolicySimulateJSON(t *testing.T) {
	t.Parallel()
	out, err := runPolicyCmd(t, "simulate",
		"--policy", policyFixture("identity.json"),
		"--action", "s3:GetObject,s3:PutObject",
		"--resource", "arn:aws:s3:::logs/a", "--resource", "arn:aws:s3:::home/alice/x",
		"--context", "aws:SourceIp=10.1.2.3", "--context", "aws:username=alice",
		"-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got []struct {
		Action, Resource string
		Decision         struct {
			Effect       string
			Explicit     bool
			Deciding     []struct{ Policy, Sid, Layer string }
			Reason       string
			MissingLayer string `json:"missing_layer"`
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := []struct{ action, resource, effect, sid, missing string }{
		{"s3:GetObject", "arn:aws:s3:::logs/a", "Allow", "ReadLogs", ""},
		{"s3:GetObject", "arn:aws:s3:::home/alice/x", "Deny", "", "identity"},
		{"s3:PutObject", "arn:aws:s3:::logs/a", "Deny", "", "identity"},
		{"s3:PutObject", "arn:aws:s3:::home/alice/x", "Allow", "WriteOwnHome", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("%d results, want %d:\n%s", len(got), len(want), out)
	}
	for i, w := range want {
		g := got[i]
		sid := ""
		if len(g.Decision.Deciding) > 0 {
			sid = g.Decision.Deciding[0].Sid
		}
		if g.Action != w.action || g.Resource != w.resource || g.Decision.Effect != w.effect || sid != w.sid || g.Decision.MissingLayer != w.missing || g.Decision.Reason == "" {
			t.Errorf("result %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestPolicySimulateTableWithBoundaryAndDeny(t *testing.T) {
	t.Parallel()
	out, err := runPolicyCmd(t, "simulate",
		"--policy", policyFixture("identity.json"), "--boundary", policyFixture("boundary.json"),
		"--action", "s3:GetObject", "--action", "s3:PutObject",
		"--resource", "arn:aws:s3:::home/bob/x", "--resource", "arn:aws:s3:::logs/a",
		"--context", "aws:SourceIp=10.0.0.1", "--context", "aws:username=bob")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ACTION", "DECIDING",
		"identity:" + policyFixture("identity.json") + "#ReadLogs, boundary:" + policyFixture("boundary.json") + "#OnlyReads",
		"but the permissions boundary does not", // PutObject on bob's home: identity allows, boundary does not
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("table lacks %q:\n%s", want, out)
		}
	}

	out, err = runPolicyCmd(t, "simulate", "--policy", policyFixture("identity.json"),
		"--action", "s3:GetObject", "--resource", "arn:aws:s3:::logs/a", "--context", "aws:SourceIp=192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Deny (explicit)") || !strings.Contains(out, "#DenyOutsideOffice") {
		t.Fatalf("explicit deny not shown:\n%s", out)
	}
}

func TestPolicySimulateRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no policy", []string{"simulate", "--action", "s3:GetObject"}, "no identity policies"},
		{"no action", []string{"simulate", "--policy", policyFixture("identity.json")}, "no actions"},
		{"bad output", []string{"simulate", "--policy", policyFixture("identity.json"), "--action", "s3:GetObject", "-o", "yaml"}, "use table or json"},
		{"bad context", []string{"simulate", "--policy", policyFixture("identity.json"), "--action", "s3:GetObject", "--context", "novalue"}, "want key=value"},
		{"invalid policy", []string{"simulate", "--policy", policyFixture("invalid.json"), "--action", "s3:GetObject"}, `Statement[1].Condition.StringLike["aws:username"]`},
		{"missing session file", []string{"simulate", "--policy", policyFixture("identity.json"), "--session-policy", policyFixture("absent.json"), "--action", "s3:GetObject"}, "absent.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := runPolicyCmd(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
