package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// realisticRole builds a role like the ones Portcullis hands to CI jobs and people:
// five identity policies of eight statements each (40 in all), nearly all conditioned
// on tags, source IP, MFA, time, ARNs and token claims, with a few Deny guard rails. The
// request is allowed by a statement in the last policy, so every statement is looked at.
func realisticRole(tb testing.TB) (*Evaluator, Request, PolicySet) {
	tb.Helper()
	services := []string{"s3", "dynamodb", "sqs", "logs", "kms"}
	var set PolicySet
	for p, svc := range services {
		var st []string
		for i := range 8 {
			sid := fmt.Sprintf("%s%d", strings.ToUpper(svc[:1])+svc[1:], i)
			var s string
			switch i {
			case 0:
				s = `{"Sid":"%s","Effect":"Deny","Action":"%s:Delete*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}`
			case 1:
				s = `{"Sid":"%s","Effect":"Deny","Action":"%s:*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16","2001:db8::/32"]}}}`
			case 2:
				s = `{"Sid":"%s","Effect":"Allow","Action":["%s:Get*","%s:List*"],"Resource":"arn:aws:%[2]s:eu-west-1:123456789012:team/${aws:PrincipalTag/Team}/*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}`
			case 3:
				s = `{"Sid":"%s","Effect":"Allow","Action":"%s:Put*","Resource":"arn:aws:%[2]s:*:123456789012:shared/*","Condition":{"ForAnyValue:StringLike":{"portcullis:groups":["eng-*","ops"]},"NumericLessThan":{"portcullis:MultiFactorAuthAge":"3600"}}}`
			case 4:
				s = `{"Sid":"%s","Effect":"Allow","Action":"%s:Describe*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2099-01-01T00:00:00Z"},"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}}`
			case 5:
				s = `{"Sid":"%s","Effect":"Allow","Action":"%s:Update*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:portcullis:iam::123456789012:role/deploy-*"}}}`
			case 6:
				s = `{"Sid":"%s","Effect":"Allow","Action":"%s:Tag*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]},"Null":{"aws:TagKeys":"false"}}}`
			case 7:
				s = `{"Sid":"%s","Effect":"Allow","Action":"%s:Read*","Resource":"*","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:org/%[2]s-*:ref:refs/heads/main"},"StringEqualsIgnoreCase":{"aws:PrincipalTag/Env":"PROD"}}}`
			}
			n := strings.Count(s, "%s")
			args := []any{sid}
			for range n - 1 {
				args = append(args, svc)
			}
			st = append(st, fmt.Sprintf(s, args...))
		}
		src := `{"Version":"2012-10-17","Statement":[` + strings.Join(st, ",") + `]}`
		set.Identity = append(set.Identity, mustCompile(tb, fmt.Sprintf("role-%s-%d", svc, p), Identity, src))
	}
	ctx := Context{}
	ctx.Set("aws:SourceIp", "10.20.30.40")
	ctx.Set("aws:MultiFactorAuthPresent", "true")
	ctx.Set("portcullis:MultiFactorAuthAge", "120")
	ctx.Set("aws:RequestedRegion", "eu-west-1")
	ctx.Set("portcullis:PrincipalTag/Team", "web")
	ctx.Set("portcullis:PrincipalTag/Env", "prod")
	ctx.Set("portcullis:groups", "sales", "eng-web")
	ctx.Set("aws:PrincipalArn", "arn:portcullis:iam::123456789012:role/ci")
	ctx.Set("aws:CurrentTime", "2026-06-01T00:00:00Z")
	ctx.Set("token.actions.githubusercontent.com:sub", "repo:org/kms-api:ref:refs/heads/main")
	req := Request{Action: "kms:ReadKey", Resource: "arn:aws:kms:eu-west-1:123456789012:key/abc", Context: ctx}
	e := NewEvaluator(Options{Now: func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }})
	return e, req, set
}

func BenchmarkEvaluateRealisticRole(b *testing.B) {
	e, req, set := realisticRole(b)
	if d := e.Evaluate(req, set); d.Effect != Allow || d.Deciding[0].Sid != "Kms7" {
		b.Fatalf("unexpected decision %+v", d)
	}
	b.ReportAllocs()
	for b.Loop() {
		e.Evaluate(req, set)
	}
}

func BenchmarkEvaluateRealisticRoleImplicitDeny(b *testing.B) {
	e, req, set := realisticRole(b)
	req.Action = "kms:Encrypt"
	b.ReportAllocs()
	for b.Loop() {
		e.Evaluate(req, set)
	}
}

func BenchmarkCompileRealisticPolicy(b *testing.B) {
	src := []byte(`{"Version":"2012-10-17","Statement":[
	{"Sid":"A","Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"arn:aws:s3:::team/${aws:PrincipalTag/Team}/*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"},"IpAddress":{"aws:SourceIp":["10.0.0.0/8"]}}},
	{"Sid":"B","Effect":"Deny","Action":"s3:Delete*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}]}`)
	b.ReportAllocs()
	for b.Loop() {
		d, err := Parse(src, Identity)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Compile("p", "v", d); err != nil {
			b.Fatal(err)
		}
	}
}
