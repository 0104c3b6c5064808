package sts

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParseWebIdentityRequest: any query string is refused or yields a request within
// the limits of SPEC §1.2, and never panics.
func FuzzParseWebIdentityRequest(f *testing.F) {
	f.Add("RoleArn=arn%3Aportcullis%3Aiam%3A%3A123456789012%3Arole%2Fdeploy&RoleSessionName=gha-42&WebIdentityToken=eyJhbGciOi&DurationSeconds=3600")
	f.Add("RoleArn=arn:portcullis:iam::123456789012:role/x&RoleSessionName=ab&WebIdentityToken=abcd&Policy=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D")
	f.Add("PolicyArns.member.1.arn=arn:portcullis:iam::123456789012:policy/p&PolicyArns.member.11.arn=x")
	f.Add("DurationSeconds=-1&RoleSessionName=%00%FF")
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, err := parseWebIdentityRequest(params{form: form}, "123456789012")
		if err != nil {
			return
		}
		if n := len(req.sessionName); n < minSessionName || n > maxSessionName || !validSessionName(req.sessionName) {
			t.Errorf("accepted session name %q", req.sessionName)
		}
		if !isRoleARN(req.roleARN) || len(req.token) < minToken {
			t.Errorf("accepted role %q / token of %d bytes", req.roleARN, len(req.token))
		}
		if req.duration != 0 && (req.duration.Seconds() < minDuration || req.duration.Seconds() > maxDuration) {
			t.Errorf("accepted duration %v", req.duration)
		}
		if req.packedSize() > maxPackedPolicy || len(req.policyARNs) > maxPolicyARNs || len(req.policyARNs) != len(req.policyNames) {
			t.Errorf("accepted %d policy bytes and %d arns", len(req.policy), len(req.policyARNs))
		}
		if req.policy != nil && strings.ContainsAny(string(req.policy), "\n\t") {
			t.Errorf("policy not compacted: %q", req.policy)
		}
	})
}
