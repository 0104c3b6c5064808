package policy

import "testing"

func TestBroadWebIdentitySubjectIsWarned(t *testing.T) {
	t.Parallel()
	doc := func(sub string) *Document {
		d, err := Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
			"Principal":{"Federated":"arn:portcullis:iam::000000000000:oidc-provider/token.actions.githubusercontent.com"},
			"Action":"sts:AssumeRoleWithWebIdentity",
			"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"`+sub+`"}}}]}`), Trust)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for sub, want := range map[string]bool{
		"repo:acme/app:ref:refs/heads/main": false,
		"repo:acme/app:environment:prod":    false,
		"repo:acme/*":                       true,
		"repo:acme/*:ref:refs/heads/main":   true,
		"repo:acme/app:pull_request":        true,
		"*":                                 true,
	} {
		got := false
		for _, w := range doc(sub).Warnings() {
			if w.Code == WarnBroadSubject {
				got = true
			}
		}
		if got != want {
			t.Errorf("sub %q: broad warning %v, want %v", sub, got, want)
		}
	}
}

func TestParseTrustRefusesUnboundFederatedPrincipal(t *testing.T) {
	t.Parallel()
	unbound := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`
	if _, err := ParseTrust([]byte(unbound)); err == nil {
		t.Fatal("a federated trust policy without sub or aud condition was accepted")
	}
	bound := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":"repo:acme/app:ref:refs/heads/main"}}}]}`
	if _, err := ParseTrust([]byte(bound)); err != nil {
		t.Fatalf("a bound trust policy was refused: %v", err)
	}
}

func TestAudienceOnlyFederatedTrustIsWarned(t *testing.T) {
	t.Parallel()
	has := func(cond string) bool {
		d, err := Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":`+cond+`}]}`), Trust)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range d.Warnings() {
			if w.Code == WarnFederatedNoSubject {
				return true
			}
		}
		return false
	}
	if !has(`{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.example.com"}}`) {
		t.Error("audience-only trust not warned")
	}
	if has(`{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.example.com","token.actions.githubusercontent.com:sub":"repo:acme/app:ref:refs/heads/main"}}`) {
		t.Error("a trust bound by subject was warned")
	}
}
