package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type parseCase struct {
	Name     string          `json:"name"`
	Kind     string          `json:"kind"`
	Policy   json.RawMessage `json:"policy"`
	Text     string          `json:"text"`
	Errors   []string        `json:"errors"`
	Warnings []string        `json:"warnings"`
}

func (c parseCase) input() []byte {
	if c.Text != "" {
		return []byte(c.Text)
	}
	return c.Policy
}

func loadParseCases(t testing.TB) []parseCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "parse", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []parseCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// errorLines splits an errors.Join result back into its messages.
func errorLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

// TestParseReportsEveryProblemWithItsPath checks the exact messages, paths included, of
// testdata/parse/cases.json, and that every rejection wraps a sentinel.
func TestParseReportsEveryProblemWithItsPath(t *testing.T) {
	t.Parallel()
	for _, tc := range loadParseCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			d, err := Parse(tc.input(), parseKind(t, tc.Kind))
			got := errorLines(err)
			if !slices.Equal(got, tc.Errors) {
				t.Fatalf("errors:\n got  %q\n want %q", got, tc.Errors)
			}
			if err != nil {
				if d != nil {
					t.Error("document returned with an error")
				}
				if !errors.Is(err, ErrInvalidPolicy) && !errors.Is(err, ErrTooDeep) && !errors.Is(err, ErrTooLarge) {
					t.Errorf("error wraps no sentinel: %v", err)
				}
				return
			}
			if err := d.Validate(); err != nil {
				t.Errorf("accepted document does not re-validate: %v", err)
			}
			if _, err := Compile(tc.Name, "v1", d); err != nil {
				t.Errorf("accepted document does not compile: %v", err)
			}
		})
	}
}

func TestParseRefusesOversizedInput(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte(" "), MaxDocumentSize+1)
	if _, err := Parse(big, Identity); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestParseRefusesUnknownKind(t *testing.T) {
	t.Parallel()
	if _, err := Parse([]byte(`{}`), Kind(42)); !errors.Is(err, ErrInvalidPolicy) {
		t.Fatalf("err = %v, want ErrInvalidPolicy", err)
	}
}

// TestValidateHandBuiltDocument covers documents built in code rather than parsed: nil
// slices mean absent, so "missing" errors appear where Parse would have seen nothing.
func TestValidateHandBuiltDocument(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  Document
		want []string
	}{
		{"valid", Document{Version: Version2012, Kind: Identity, Statements: []Statement{{Effect: EffectAllow, Action: []string{"s3:*"}, Resource: []string{"*"}}}}, nil},
		{"no statements", Document{Version: Version2012, Kind: Identity}, []string{"Statement: must contain at least one statement"}},
		{"no kind", Document{Version: Version2012}, []string{"unknown policy kind Kind(0)"}},
		{"missing effect and action", Document{Version: Version2012, Kind: Boundary, Statements: []Statement{{Resource: []string{"*"}}}},
			[]string{`Statement[0].Effect: required: "Allow" or "Deny"`, "Statement[0]: needs Action or NotAction"}},
		{"trust wildcard mixed", Document{Version: Version2012, Kind: Trust, Statements: []Statement{{Effect: EffectAllow, Action: []string{"sts:AssumeRole"}, Principal: &PrincipalSet{Wildcard: true, AWS: []string{"123456789012"}}}}},
			[]string{`Statement[0].Principal: "*" cannot be combined with named principals`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := errorLines(tc.doc.Validate())
			if !slices.Equal(got, tc.want) {
				t.Fatalf("errors:\n got  %q\n want %q", got, tc.want)
			}
			_, err := Compile("p", "v", &tc.doc)
			if (err == nil) != (tc.want == nil) {
				t.Fatalf("Compile err = %v, want error: %v", err, tc.want != nil)
			}
		})
	}
}

func TestWarningsFlagRiskyShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		kind   Kind
		policy string
		want   []string // "path code"
	}{
		{"allow all", Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
			[]string{"Statement[0] allow-all"}},
		{"deny all is fine", Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`, nil},
		{"allow not action", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`,
			[]string{"Statement.NotAction allow-not-action"}},
		{"allow not resource", Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::x"}]}`,
			[]string{"Statement[0].NotResource allow-not-resource"}},
		{"deny not resource is fine", Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::x"}]}`, nil},
		{"for all values without null", Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}}]}`,
			[]string{`Statement[0].Condition.ForAllValues:StringEquals["aws:TagKeys"] for-all-values-without-null`}},
		{"for all values with null", Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]},"Null":{"aws:tagkeys":"false"}}}]}`, nil},
		{"federated without sub or aud", Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:portcullis:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`,
			[]string{"Statement[0].Condition federated-without-sub-or-aud"}},
		{"federated with only other keys", Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"accounts.google.com:email":"a@b"}}}]}`,
			[]string{"Statement[0].Condition federated-without-sub-or-aud"}},
		{"federated sub only via wildcard", Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"x.example"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"x.example:sub":"*"}}}]}`,
			[]string{"Statement[0].Condition federated-without-sub-or-aud", `Statement[0].Condition.StringLike["x.example:sub"] broad-web-identity-subject`}},
		{"federated sub via IfExists", Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"x.example"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEqualsIfExists":{"x.example:sub":"a"}}}]}`,
			[]string{"Statement[0].Condition federated-without-sub-or-aud"}},
		{"federated bound by sub", Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"x.example"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"X.EXAMPLE:SUB":"repo:o/r:*"}}}]}`, nil},
		{"federated bound by saml aud", Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:portcullis:iam::123456789012:saml-provider/c"},"Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"SAML:aud":"https://x/sts"}}}]}`, nil},
		{"trust anyone", Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}`,
			[]string{"Statement[0].Principal trust-anyone"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := Parse([]byte(tc.policy), tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range d.Warnings() {
				if w.Message == "" {
					t.Errorf("warning %s without message", w.Code)
				}
				got = append(got, w.Path+" "+w.Code)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("warnings = %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzParse: Parse never panics, every rejection wraps a sentinel, and every accepted
// document re-validates and compiles.
func FuzzParse(f *testing.F) {
	for _, tc := range loadParseCases(f) {
		f.Add(tc.input(), uint8(parseKind(f, tc.Kind)))
	}
	for _, s := range loadSuites(f) {
		for _, p := range s.Policies {
			f.Add([]byte(p.Document), uint8(parseKind(f, p.Kind)))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, k uint8) {
		kind := Kind(k%4) + Identity
		d, err := Parse(data, kind)
		if err != nil {
			if !errors.Is(err, ErrInvalidPolicy) && !errors.Is(err, ErrTooDeep) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("accepted document does not re-validate: %v", err)
		}
		if _, err := Compile("fuzz", "v", d); err != nil {
			t.Fatalf("accepted document does not compile: %v", err)
		}
		_ = d.Warnings()
	})
}
