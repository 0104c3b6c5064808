package login

import (
	"slices"
	"testing"

	"github.com/portcullis-id/portcullis/store"
)

func TestRequire(t *testing.T) {
	t.Parallel()
	p := Policy{Groups: []string{"Finance"}, Roles: []string{"auditor"}}
	tests := []struct {
		name   string
		p      Policy
		u      store.User
		groups []string
		c      store.Client
		acr    []string
		want   bool
		reason string
	}{
		{"nothing asks for it", p, store.User{}, []string{"eng"}, store.Client{}, nil, false, ""},
		{"global", Policy{Required: true}, store.User{}, nil, store.Client{}, nil, true, "policy"},
		{"client", p, store.User{}, nil, store.Client{RequireMFA: true}, nil, true, "client"},
		{"acr step-up", p, store.User{}, nil, store.Client{}, []string{ACRMFA}, true, "acr"},
		{"other acr ignored", p, store.User{}, nil, store.Client{}, []string{ACRPassword}, false, ""},
		{"admin role always", Policy{}, store.User{Roles: []string{"admin"}}, nil, store.Client{}, nil, true, "role:admin"},
		{"configured role", p, store.User{Roles: []string{"auditor"}}, nil, store.Client{}, nil, true, "role:auditor"},
		{"group, case-insensitive", p, store.User{}, []string{"finance"}, store.Client{}, nil, true, "group:finance"},
	}
	for _, tc := range tests {
		got := tc.p.Require(tc.u, tc.groups, tc.c, tc.acr)
		if got.MFA != tc.want || got.Reason != tc.reason {
			t.Errorf("%s: Require = %+v, want MFA=%v reason=%q", tc.name, got, tc.want, tc.reason)
		}
	}
}

func TestAMRAndACR(t *testing.T) {
	t.Parallel()
	if got := CombineAMR([]string{"pwd"}, []string{"otp"}); !slices.Equal(got, []string{"pwd", "otp", "mfa"}) {
		t.Errorf("pwd+otp = %v", got)
	}
	if got := CombineAMR([]string{"pwd"}, nil); !slices.Equal(got, []string{"pwd"}) {
		t.Errorf("pwd alone = %v", got)
	}
	if got := PasskeyAMR([]string{"hwk"}, true); !slices.Equal(got, []string{"hwk", "user", "mfa"}) {
		t.Errorf("passkey with UV = %v", got)
	}
	if got := PasskeyAMR([]string{"hwk"}, false); !slices.Equal(got, []string{"hwk"}) {
		t.Errorf("passkey without UV = %v", got)
	}
	if ACR([]string{"pwd", "otp", "mfa"}) != ACRMFA || ACR([]string{"pwd"}) != ACRPassword {
		t.Error("ACR mapping")
	}
}
