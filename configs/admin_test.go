package configs

import (
	"path/filepath"
	"testing"
)

var adminCases = []validationCase{
	{name: "explicit file", yaml: "admin:\n  bootstrap_token_file: /run/portcullis/admin.token\n"},
	{name: "same as database", yaml: "storage:\n  bolt:\n    path: /x/db\nadmin:\n  bootstrap_token_file: /x/db\n", paths: []string{"admin.bootstrap_token_file"}, msg: "must not be the same file as storage.bolt.path"},
	{name: "admin unknown key", yaml: "admin:\n  password: hunter2\n", paths: []string{"admin.password"}, msg: "unknown key"},
}

func TestAdminValidation(t *testing.T) {
	t.Parallel()
	runCases(t, adminCases)
}

func TestBootstrapTokenFileFollowsDataDir(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte("data_dir: state\n"), "/etc/portcullis")
	if err != nil {
		t.Fatal(err)
	}
	if want := "/etc/portcullis/state/bootstrap-admin.token"; c.Admin.BootstrapTokenFile != filepath.FromSlash(want) {
		t.Errorf("admin.bootstrap_token_file = %q, want %q", c.Admin.BootstrapTokenFile, want)
	}
}

func TestBootstrapTokenFileEmptyIsInvalid(t *testing.T) {
	t.Parallel()
	c := Defaults()
	c.Admin.BootstrapTokenFile = ""
	checkErr(t, c.Validate(), []string{"admin.bootstrap_token_file"}, "must be set")
}
