package roles

import (
	"strings"
	"testing"
)

var arnCases = []struct {
	in      string
	want    ARN
	wantErr string
}{
	{in: "arn:portcullis:iam::000000000000:role/deploy", want: ARN{"000000000000", "/", "deploy"}},
	{in: "arn:portcullis:iam::123456789012:role/ci/gh/Deploy+Prod=1,a.b@c_d-e", want: ARN{"123456789012", "/ci/gh/", "Deploy+Prod=1,a.b@c_d-e"}},
	{in: "arn:aws:iam::123456789012:role/deploy", wantErr: "must start with"},
	{in: "arn:portcullis:sts::123456789012:role/deploy", wantErr: "must start with"},
	{in: "arn:portcullis:iam:us-east-1:123456789012:role/deploy", wantErr: "must start with"},
	{in: "arn:portcullis:iam::12345678901:role/deploy", wantErr: "12 digits"},
	{in: "arn:portcullis:iam::12345678901a:role/deploy", wantErr: "12 digits"},
	{in: "arn:portcullis:iam::123456789012", wantErr: "missing"},
	{in: "arn:portcullis:iam::123456789012:user/alice", wantErr: "role/<path/><name>"},
	{in: "arn:portcullis:iam::123456789012:role/", wantErr: "name"},
	{in: "arn:portcullis:iam::123456789012:role/ci//deploy", wantErr: "empty segment"},
	{in: "arn:portcullis:iam::123456789012:role/c*i/deploy", wantErr: "segment"},
	{in: "arn:portcullis:iam::123456789012:role/deploy:x", wantErr: "name"},
	{in: "arn:portcullis:iam::123456789012:role/dep loy", wantErr: "name"},
	{in: "arn:portcullis:iam::123456789012:role/" + strings.Repeat("n", 65), wantErr: "1 to 64"},
	{in: "arn:portcullis:iam::123456789012:role/" + strings.Repeat("n", 64), want: ARN{"123456789012", "/", strings.Repeat("n", 64)}},
	{in: "arn:portcullis:iam::123456789012:role/" + strings.Repeat("p/", 256) + "n", wantErr: "at most 512"},
}

func TestParseARN(t *testing.T) {
	t.Parallel()
	for _, tc := range arnCases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseARN(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseARN = %+v, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseARN = %+v, %v; want %+v", got, err, tc.want)
			}
			if s := got.String(); s != tc.in {
				t.Errorf("String() = %q, want the input back", s)
			}
		})
	}
}

func TestFormatARNDefaultsThePath(t *testing.T) {
	t.Parallel()
	if got := FormatARN(DefaultAccount, "", "r"); got != "arn:portcullis:iam::000000000000:role/r" {
		t.Errorf("FormatARN = %q", got)
	}
}

// FuzzParseARN: whatever the input, a parsed ARN formats back to the input and every
// part passes its own check.
func FuzzParseARN(f *testing.F) {
	for _, tc := range arnCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseARN(s)
		if err != nil {
			return
		}
		if a.String() != s {
			t.Fatalf("ParseARN(%q) = %+v formats as %q", s, a, a.String())
		}
		if CheckAccount(a.Account) != nil || CheckPath(a.Path) != nil || CheckRoleName(a.Name) != nil {
			t.Fatalf("ParseARN(%q) accepted invalid parts %+v", s, a)
		}
		if strings.ContainsAny(a.Path+a.Name, ":*? ") {
			t.Fatalf("ParseARN(%q) let a separator or wildcard through: %+v", s, a)
		}
	})
}
