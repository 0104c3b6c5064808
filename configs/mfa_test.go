package configs

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func mfa(key, value string) string { return "mfa:\n  " + key + ": " + value + "\n" }

func mfaSub(section, key, value string) string {
	return "mfa:\n  " + section + ":\n    " + key + ": " + value + "\n"
}

var mfaCases = []validationCase{
	{name: "mfa required", yaml: mfa("required", "true")},
	{name: "mfa required not a bool", yaml: mfa("required", "sometimes"), paths: []string{"mfa.required"}},
	{name: "mfa groups ok", yaml: mfa("required_groups", `[engineering, "Finance Team"]`)},
	{name: "mfa group empty", yaml: mfa("required_groups", `[eng, ""]`), paths: []string{"mfa.required_groups[1]"}, msg: "mfa.required_groups[1]: must be a group name, not empty"},
	{name: "mfa group padded", yaml: mfa("required_groups", `[" eng"]`), paths: []string{"mfa.required_groups[0]"}, msg: "white space"},
	{name: "mfa group control", yaml: mfa("required_groups", `["en\tg"]`), paths: []string{"mfa.required_groups[0]"}, msg: "control characters"},
	{name: "mfa group too long", yaml: mfa("required_groups", "["+stringOf('g', 257)+"]"), paths: []string{"mfa.required_groups[0]"}, msg: "at most 256 bytes"},
	{name: "mfa group duplicate ignoring case", yaml: mfa("required_groups", `[Eng, ops, eng]`), paths: []string{"mfa.required_groups[2]"}, msg: "duplicate of mfa.required_groups[0] (group names ignore case)"},
	{name: "mfa groups not a list", yaml: mfa("required_groups", "eng"), paths: []string{"mfa.required_groups"}, msg: "must be a list"},
	{name: "mfa roles ok", yaml: mfa("required_roles", `[auditor, operator]`)},
	{name: "mfa roles admin listed", yaml: mfa("required_roles", `[admin]`)},
	{name: "mfa role two words", yaml: mfa("required_roles", `["super user"]`), paths: []string{"mfa.required_roles[0]"}, msg: "must be a role name"},
	{name: "mfa role empty", yaml: mfa("required_roles", `[""]`), paths: []string{"mfa.required_roles[0]"}},
	{name: "mfa role too long", yaml: mfa("required_roles", "["+stringOf('r', 129)+"]"), paths: []string{"mfa.required_roles[0]"}},
	{name: "mfa role duplicate", yaml: mfa("required_roles", `[auditor, auditor]`), paths: []string{"mfa.required_roles[1]"}, msg: "duplicate of mfa.required_roles[0]"},
	{name: "step-up 1m", yaml: mfa("step_up_max_age", "1m")},
	{name: "step-up 1h", yaml: mfa("step_up_max_age", "1h")},
	{name: "step-up too short", yaml: mfa("step_up_max_age", "59s"), paths: []string{"mfa.step_up_max_age"}, msg: "mfa.step_up_max_age: must be between 1m and 1h (got 59s)"},
	{name: "step-up too long", yaml: mfa("step_up_max_age", "61m"), paths: []string{"mfa.step_up_max_age"}},
	{name: "step-up bare number", yaml: mfa("step_up_max_age", "300"), paths: []string{"mfa.step_up_max_age"}, msg: "has no unit"},
	{name: "totp issuer ok", yaml: mfaSub("totp", "issuer", `"Example Corp (staging)"`)},
	{name: "totp issuer empty", yaml: mfaSub("totp", "issuer", `""`), paths: []string{"mfa.totp.issuer"}, msg: "must be set"},
	{name: "totp issuer colon", yaml: mfaSub("totp", "issuer", `"Example: SSO"`), paths: []string{"mfa.totp.issuer"}, msg: "must not contain a colon"},
	{name: "totp issuer padded", yaml: mfaSub("totp", "issuer", `"Example "`), paths: []string{"mfa.totp.issuer"}, msg: "white space"},
	{name: "totp issuer too long", yaml: mfaSub("totp", "issuer", stringOf('i', 65)), paths: []string{"mfa.totp.issuer"}, msg: "at most 64 bytes"},
	{name: "totp issuer control", yaml: mfaSub("totp", "issuer", `"Ex\u0007ample"`), paths: []string{"mfa.totp.issuer"}, msg: "control characters"},
	{name: "totp unknown key", yaml: mfaSub("totp", "digits", "8"), paths: []string{"mfa.totp.digits"}, msg: "unknown key"},
	{name: "rp name ok", yaml: mfaSub("webauthn", "rp_display_name", "Example SSO")},
	{name: "rp name empty", yaml: mfaSub("webauthn", "rp_display_name", `""`), paths: []string{"mfa.webauthn.rp_display_name"}, msg: "must be set"},
	{name: "rp name padded", yaml: mfaSub("webauthn", "rp_display_name", `" Example"`), paths: []string{"mfa.webauthn.rp_display_name"}},
	{name: "rp name too long", yaml: mfaSub("webauthn", "rp_display_name", stringOf('n', 65)), paths: []string{"mfa.webauthn.rp_display_name"}, msg: "at most 64 bytes"},
	{name: "rp name control", yaml: mfaSub("webauthn", "rp_display_name", `"a\nb"`), paths: []string{"mfa.webauthn.rp_display_name"}, msg: "control characters"},
	{name: "uv required", yaml: mfaSub("webauthn", "user_verification", "required")},
	{name: "uv discouraged", yaml: mfaSub("webauthn", "user_verification", "discouraged")},
	{name: "uv wrong case", yaml: mfaSub("webauthn", "user_verification", "Required"), paths: []string{"mfa.webauthn.user_verification"}, msg: `values are case-sensitive, write "required"`},
	{name: "uv unknown", yaml: mfaSub("webauthn", "user_verification", "always"), paths: []string{"mfa.webauthn.user_verification"}, msg: "must be one of preferred, required, discouraged"},
	{name: "aaguids ok", yaml: mfaSub("webauthn", "allowed_aaguids", `[cb69481e-8ff7-4039-93ec-0a2729a154a8, "EE882879-721C-4913-9775-3DFCCE97072A"]`)},
	{name: "aaguid not a uuid", yaml: mfaSub("webauthn", "allowed_aaguids", `[yubikey-5]`), paths: []string{"mfa.webauthn.allowed_aaguids[0]"}, msg: `must be an AAGUID written as a UUID`},
	{name: "aaguid without dashes", yaml: mfaSub("webauthn", "allowed_aaguids", `[cb69481e8ff7403993ec0a2729a154a8]`), paths: []string{"mfa.webauthn.allowed_aaguids[0]"}},
	{name: "aaguid braces", yaml: mfaSub("webauthn", "allowed_aaguids", `["{cb69481e-8ff7-4039-93ec-0a2729a154}"]`), paths: []string{"mfa.webauthn.allowed_aaguids[0]"}},
	{name: "aaguid non-hex", yaml: mfaSub("webauthn", "allowed_aaguids", `[zb69481e-8ff7-4039-93ec-0a2729a154a8]`), paths: []string{"mfa.webauthn.allowed_aaguids[0]"}},
	{name: "aaguid zero", yaml: mfaSub("webauthn", "allowed_aaguids", `["00000000-0000-0000-0000-000000000000"]`), paths: []string{"mfa.webauthn.allowed_aaguids[0]"}, msg: "allowing it allows them all"},
	{name: "aaguid duplicate ignoring case", yaml: mfaSub("webauthn", "allowed_aaguids", `[cb69481e-8ff7-4039-93ec-0a2729a154a8, CB69481E-8FF7-4039-93EC-0A2729A154A8]`), paths: []string{"mfa.webauthn.allowed_aaguids[1]"}, msg: "duplicate of mfa.webauthn.allowed_aaguids[0]"},
	{name: "max failures 1", yaml: mfa("max_failures", "1")},
	{name: "max failures zero", yaml: mfa("max_failures", "0"), paths: []string{"mfa.max_failures"}, msg: "mfa.max_failures: must be between 1 and 100 (got 0)"},
	{name: "max failures too many", yaml: mfa("max_failures", "101"), paths: []string{"mfa.max_failures"}},
	{name: "lockout too short", yaml: mfa("lockout", "30s"), paths: []string{"mfa.lockout"}, msg: "must be between 1m and 24h"},
	{name: "lockout too long", yaml: mfa("lockout", "25h"), paths: []string{"mfa.lockout"}},
	{name: "mfa unknown key", yaml: mfa("requried", "true"), paths: []string{"mfa.requried"}, msg: "unknown key"},
	{name: "mfa all problems at once", yaml: "mfa:\n  step_up_max_age: 2h\n  max_failures: 0\n  webauthn:\n    user_verification: never\n",
		paths: []string{"mfa.step_up_max_age", "mfa.max_failures", "mfa.webauthn.user_verification"}},
}

func stringOf(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

func TestMFAValidation(t *testing.T) {
	t.Parallel()
	runCases(t, mfaCases)
}

func TestMFADefaults(t *testing.T) {
	t.Parallel()
	got := Defaults().MFA
	want := MFAConfig{
		StepUpMaxAge: Duration(5 * time.Minute),
		TOTP:         MFATOTPConfig{Issuer: "Portcullis"},
		WebAuthn:     MFAWebAuthnConfig{RPDisplayName: "Portcullis", UserVerification: "preferred"},
		MaxFailures:  5,
		Lockout:      Duration(15 * time.Minute),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Defaults().MFA = %+v, want %+v", got, want)
	}
}

func TestMFAEmptyListsEqualAbsentOnes(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte("mfa:\n  required_groups: []\n  required_roles: []\n  webauthn:\n    allowed_aaguids: []\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.MFA, Defaults().MFA) {
		t.Errorf("empty lists = %+v, want the defaults %+v", c.MFA, Defaults().MFA)
	}
}

func TestMFAAAGUIDsParsed(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(mfaSub("webauthn", "allowed_aaguids", "[CB69481E-8FF7-4039-93EC-0A2729A154A8]")), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := [][16]byte{{0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40, 0x39, 0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1, 0x54, 0xa8}}
	if got := c.MFA.WebAuthn.AAGUIDs(); !reflect.DeepEqual(got, want) {
		t.Errorf("AAGUIDs() = %x, want %x", got, want)
	}
	if got := Defaults().MFA.WebAuthn.AAGUIDs(); len(got) != 0 {
		t.Errorf("default AAGUIDs = %x, want none", got)
	}
}

func TestMFARolesAlwaysIncludeAdmin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		roles []string
		want  []string
	}{
		{"none listed", nil, []string{"admin"}},
		{"others listed", []string{"auditor"}, []string{"auditor", "admin"}},
		{"admin listed", []string{"admin", "auditor"}, []string{"admin", "auditor"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := MFAConfig{RequiredRoles: tc.roles}
			if got := m.RolesRequiringMFA(); !slices.Equal(got, tc.want) {
				t.Errorf("RolesRequiringMFA() = %v, want %v", got, tc.want)
			}
			if len(tc.roles) > 0 && &m.RequiredRoles[0] == &m.RolesRequiringMFA()[0] {
				t.Error("RolesRequiringMFA shares the config's slice")
			}
		})
	}
}
