package oidc

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestAudienceReadsStringOrArrayAndWritesArray: RFC 7519 §4.1.3 lets aud be one string
// (role-session tokens) or an array (our access tokens, which must keep that form).
func TestAudienceReadsStringOrArrayAndWritesArray(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{`"sts"`, []string{"sts"}, false},
		{`["app","api"]`, []string{"app", "api"}, false},
		{`[]`, []string{}, false},
		{`null`, nil, false},
		{`5`, nil, true},
		{`["app",1]`, nil, true},
		{`{"aud":"x"}`, nil, true},
	} {
		var c accessClaims
		err := json.Unmarshal([]byte(`{"aud":`+tc.in+`}`), &c)
		if (err != nil) != tc.wantErr || (!tc.wantErr && !slices.Equal(c.Audience, tc.want)) {
			t.Errorf("aud %s: %v, %v; want %v (error %v)", tc.in, c.Audience, err, tc.want, tc.wantErr)
		}
	}
	out, err := json.Marshal(accessClaims{Audience: []string{"app"}})
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatal(err)
	}
	if string(raw["aud"]) != `["app"]` {
		t.Errorf("aud encodes as %s, want [\"app\"]", raw["aud"])
	}
}

// TestRoleSessionTokensHandOpTheirJTI: op splits Decrypt's answer on ':', so a role
// session's ARN subject is replaced by its jti; other tokens keep their subject.
func TestRoleSessionTokensHandOpTheirJTI(t *testing.T) {
	t.Parallel()
	session := accessClaims{Subject: "arn:portcullis:sts::1:assumed-role/r/s", JTI: "PCIAX", ClientID: "sts", Audience: audience{"sts"}}
	if !session.roleSession() || session.opSubject() != "PCIAX" {
		t.Errorf("role session: roleSession %v, opSubject %q", session.roleSession(), session.opSubject())
	}
	for _, c := range []accessClaims{
		{Subject: "svc", JTI: "j", ClientID: "svc", Audience: audience{"svc"}},
		{Subject: "u", JTI: "j", ClientID: "sts", Audience: audience{"other"}},
		{Subject: "u", JTI: "j", ClientID: "app", Audience: audience{"sts"}},
	} {
		if c.roleSession() || c.opSubject() != c.Subject {
			t.Errorf("%+v judged a role session", c)
		}
	}
}
