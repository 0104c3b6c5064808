package configs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreValid(t *testing.T) {
	t.Parallel()
	c := Defaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("Defaults().Validate() = %v", err)
	}
	if c.Listen != "127.0.0.1:8080" || c.Issuer != "http://127.0.0.1:8080" || c.DataDir != "./data" {
		t.Errorf("server defaults = %q %q %q", c.Listen, c.Issuer, c.DataDir)
	}
	if c.Storage.Bolt.Path != filepath.Join("data", "portcullis.db") {
		t.Errorf("storage.bolt.path default = %q", c.Storage.Bolt.Path)
	}
	if c.Signing.Algorithm != "RS256" || c.Logging.Level != "info" || c.Logging.Format != "text" {
		t.Errorf("signing/logging defaults = %+v %+v", c.Signing, c.Logging)
	}
	if c.Security.PasswordMinLength != 12 || c.Security.LoginMinDuration != Duration(250*time.Millisecond) {
		t.Errorf("security defaults = %+v", c.Security)
	}
}

func TestEmptyFileGivesDefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	want := Defaults()
	want.resolvePaths(dir)
	for _, in := range []string{"", "\n", "# comment\n", "---\n", "~\n", "{}\n"} {
		got, err := Parse([]byte(in), dir)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q) =\n%+v\nwant\n%+v", in, got, want)
		}
	}
}

func TestMultipleErrorsReportedAtOnce(t *testing.T) {
	t.Parallel()
	yaml := `
listen: nowhere
issuer: http://id.example.com/
storage:
  backend: sqlite
tokens:
  access_token_lifetime: 48h
  auth_code_lifetime: 1h
signing:
  algorithm: HS256
logging:
  format: xml
security:
  password_min_length: 4
  trusted_proxies: [0.0.0.0/0]
apply: [missing.yaml]
`
	_, err := Parse([]byte(yaml), t.TempDir())
	checkErr(t, err, []string{
		"listen", "issuer", "issuer", "storage.backend", "tokens.access_token_lifetime",
		"tokens.auth_code_lifetime", "signing.algorithm", "logging.format",
		"security.password_min_length", "security.trusted_proxies[0]", "apply[0]",
	}, "")
}

func TestValidateCollectsEveryError(t *testing.T) {
	t.Parallel()
	c := Defaults()
	c.Listen = ""
	c.Tokens.SessionLifetime = 0
	c.Signing.PublishAhead = 0
	c.Security.UserMaxFailures = 0
	checkErr(t, c.Validate(), []string{"listen", "tokens.session_lifetime", "signing.publish_ahead", "security.user_max_failures"}, "")
}

func TestLoadNamesFileAndLine(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "portcullis.yaml")
	if err := os.WriteFile(path, []byte("tokens:\n  acess_token_lifetime: 5m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := path + `:2: tokens.acess_token_lifetime: unknown key (did you mean "access_token_lifetime"?)`
	if err == nil || err.Error() != want {
		t.Errorf("Load error = %v\nwant %s", err, want)
	}

	if err := os.WriteFile(path, []byte("\nsigning:\n  algorithm: none\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":3: signing.algorithm: must be one of") {
		t.Errorf("Load error = %v, want it to start with %s:3: signing.algorithm", err, path)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("Load(missing) = %v, want a not-exist error naming %s", err, path)
	}
	if errors.Is(err, ErrInvalid) {
		t.Errorf("a missing file is not an invalid configuration: %v", err)
	}
}

func TestLoadEmbeddedDev(t *testing.T) {
	t.Parallel()
	got, err := Load("")
	if err != nil {
		t.Fatalf("Load(\"\"): %v", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.resolvePaths(wd)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("dev.yaml differs from the defaults:\n%+v\nwant\n%+v", got, want)
	}
	if got.DataDir != filepath.Join(wd, "data") || got.Storage.Bolt.Path != filepath.Join(wd, "data", "portcullis.db") {
		t.Errorf("dev paths = %q, %q; want them under %s", got.DataDir, got.Storage.Bolt.Path, wd)
	}
	if got.IsHTTPS() {
		t.Error("dev issuer should be plain http on loopback")
	}
}

func TestDevReturnsCopy(t *testing.T) {
	t.Parallel()
	b := Dev()
	if len(b) == 0 {
		t.Fatal("Dev() is empty")
	}
	b[0] ^= 0xff
	if Dev()[0] == b[0] {
		t.Error("modifying Dev()'s result changed the embedded file")
	}
}

func TestRelativePathsResolveAgainstConfigDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	confDir := filepath.Join(root, "etc")
	if err := os.MkdirAll(filepath.Join(confDir, "iam"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(confDir, "iam", "clients.yaml"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(confDir, "portcullis.yaml")
	yaml := "data_dir: ../state\nsealing:\n  key_file: keys/seal.key\napply:\n  - iam/clients.yaml\n  - /abs/ignored/by/this/test.yaml\n"
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	// The absolute apply entry does not exist: the error must keep it as written.
	_, err := Load(conf)
	checkErr(t, err, []string{"apply[1]"}, "file does not exist: /abs/ignored/by/this/test.yaml")

	yaml = strings.Replace(yaml, "  - /abs/ignored/by/this/test.yaml\n", "", 1)
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(root, "state")
	checks := map[string][2]string{
		"data_dir":                   {c.DataDir, state},
		"storage.bolt.path":          {c.Storage.Bolt.Path, filepath.Join(state, "portcullis.db")},
		"sealing.key_file":           {c.Sealing.KeyFile, filepath.Join(confDir, "keys", "seal.key")},
		"admin.bootstrap_token_file": {c.Admin.BootstrapTokenFile, filepath.Join(state, "bootstrap-admin.token")},
		"apply[0]":                   {c.Apply[0], filepath.Join(confDir, "iam", "clients.yaml")},
	}
	for key, gw := range checks {
		if gw[0] != gw[1] {
			t.Errorf("%s = %q, want %q", key, gw[0], gw[1])
		}
	}
}

func TestParseRelativeBaseDirUsesWorkingDirectory(t *testing.T) {
	t.Parallel()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{"", "."} {
		c, err := Parse([]byte("data_dir: d\n"), base)
		if err != nil {
			t.Fatal(err)
		}
		if c.DataDir != filepath.Join(wd, "d") {
			t.Errorf("Parse(baseDir %q).DataDir = %q, want %q", base, c.DataDir, filepath.Join(wd, "d"))
		}
	}
}

func TestTestdataFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file  string
		paths []string
		msg   string
	}{
		{file: "full.yaml"},
		{file: "empty.yaml"},
		{file: "unknown-keys.yaml", paths: []string{"tokens.acess_token_lifetime", "security.trusted_proxy", "logging.colour"}, msg: "unknown-keys.yaml:9: tokens.acess_token_lifetime: unknown key"},
		{file: "bad-values.yaml", paths: []string{"issuer", "tokens.refresh_token_absolute_lifetime", "signing.publish_ahead", "security.password_max_length", "security.trusted_proxies[1]"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			_, err := Load(filepath.Join("testdata", tc.file))
			checkErr(t, err, tc.paths, tc.msg)
		})
	}
}

func TestFullTestdataValues(t *testing.T) {
	t.Parallel()
	c, err := Load(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Listen:  "0.0.0.0:8443",
		Issuer:  "https://id.example.com/corp",
		DataDir: "/var/lib/portcullis",
		Storage: StorageConfig{Backend: "bolt", Bolt: BoltConfig{Path: "/var/lib/portcullis/db/p.db"}},
		Sealing: SealingConfig{KeyFile: filepath.Join(dir, "secrets", "seal.key"), KeyEnv: "CORP_SEAL"},
		Tokens: TokensConfig{
			AccessTokenLifetime:          Duration(5 * time.Minute),
			IDTokenLifetime:              Duration(5 * time.Minute),
			RefreshTokenLifetime:         Duration(8 * time.Hour),
			RefreshTokenAbsoluteLifetime: Duration(168 * time.Hour),
			AuthCodeLifetime:             Duration(30 * time.Second),
			AuthRequestLifetime:          Duration(10 * time.Minute),
			SessionLifetime:              Duration(9 * time.Hour),
			RefreshReuseGrace:            Duration(2 * time.Second),
		},
		Signing: SigningConfig{Algorithm: "ES256", RotationPeriod: Duration(168 * time.Hour), PublishAhead: Duration(12 * time.Hour)},
		Logging: LoggingConfig{Level: "warn", Format: "json"},
		Security: SecurityConfig{
			PasswordMinLength: 14, PasswordMaxLength: 256, UserMaxFailures: 3,
			UserLockout: Duration(30 * time.Minute), IPMaxFailures: 20,
			FailureWindow: Duration(10 * time.Minute), LoginMinDuration: Duration(400 * time.Millisecond),
			TrustedProxies: []string{"10.0.0.0/8", "fd00::/8"},
		},
		Admin: AdminConfig{BootstrapTokenFile: "/run/portcullis/bootstrap.token"},
		MFA: MFAConfig{
			Required: true, RequiredGroups: []string{"engineering", "finance"}, RequiredRoles: []string{"auditor"},
			StepUpMaxAge: Duration(10 * time.Minute), TOTP: MFATOTPConfig{Issuer: "Example Corp"},
			WebAuthn: MFAWebAuthnConfig{RPDisplayName: "Example SSO", UserVerification: "required",
				AllowedAAGUIDs: []string{"cb69481e-8ff7-4039-93ec-0a2729a154a8"}},
			MaxFailures: 3, Lockout: Duration(30 * time.Minute),
		},
		STS: STSConfig{Account: "123456789012", AuditAllowSampleRate: 1, Issuers: []TrustedIssuerConfig{{
			Name: "github", Preset: PresetGitHubActions, Audiences: []string{"https://sts.example.com"}, ReplayProtection: true,
		}}},
		Apply: []string{filepath.Join(dir, "iam", "clients.yaml")},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("full.yaml =\n%+v\nwant\n%+v", c, want)
	}
}
