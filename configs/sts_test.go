package configs

import (
	"strings"
	"testing"
)

func TestSTSValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, wantPath string
	}{
		{"short account", "sts:\n  account: \"123\"\n", "sts.account"},
		{"issuer without name", "sts:\n  issuers:\n    - preset: github-actions\n      audiences: [x]\n", "sts.issuers[0].name"},
		{"unknown preset", "sts:\n  issuers:\n    - name: a\n      preset: gitlab\n      url: https://gitlab.example\n      audiences: [x]\n", "sts.issuers[0].preset"},
		{"no url and no preset", "sts:\n  issuers:\n    - name: a\n      audiences: [x]\n", "sts.issuers[0].url"},
		{"plain http off loopback", "sts:\n  issuers:\n    - name: a\n      url: http://issuer.example\n      audiences: [x]\n", "sts.issuers[0].url"},
		{"no audience", "sts:\n  issuers:\n    - name: a\n      preset: github-actions\n", "sts.issuers[0].audiences"},
		{"hmac algorithm", "sts:\n  issuers:\n    - name: a\n      preset: github-actions\n      audiences: [x]\n      algorithms: [HS256]\n", "sts.issuers[0].algorithms[0]"},
		{"duplicate name", "sts:\n  issuers:\n    - {name: a, preset: github-actions, audiences: [x]}\n    - {name: a, preset: github-actions, audiences: [y]}\n", "sts.issuers[1].name"},
		{"both key sources", "sts:\n  issuers:\n    - {name: a, url: \"https://i.example\", audiences: [x], jwks_url: \"https://i.example/k\", jwks_file: k.json}\n", "sts.issuers[0].jwks_file"},
		{"unknown key in an issuer", "sts:\n  issuers:\n    - {name: a, preset: github-actions, audiences: [x], audience: y}\n", "sts.issuers[0].audience"},
		{"saml provider without metadata", "sts:\n  saml_providers:\n    - {name: corp}\n", "sts.saml_providers[0].metadata_file"},
		{"sample rate above 1", "sts:\n  audit_allow_sample_rate: 1.5\n", "sts.audit_allow_sample_rate"},
		{"saml provider without name", "sts:\n  saml_providers:\n    - {metadata_file: idp.xml}\n", "sts.saml_providers[0].name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.yaml), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tc.wantPath) {
				t.Fatalf("error %v, want one naming %s", err, tc.wantPath)
			}
		})
	}
	ok := "sts:\n  audit_allow_sample_rate: 0.25\n  issuers:\n    - {name: gh, preset: github-actions, audiences: [\"https://sts.example.com\"]}\n    - {name: local, url: \"http://127.0.0.1:9000\", audiences: [x], algorithms: [ES256]}\n"
	if _, err := Parse([]byte(ok), t.TempDir()); err != nil {
		t.Fatalf("valid sts section refused: %v", err)
	}
}
