package configs

import (
	"path/filepath"
	"testing"
)

var sealingCases = []validationCase{
	{name: "key env custom", yaml: "sealing:\n  key_env: MY_KEY_2\n"},
	{name: "key env disabled", yaml: "sealing:\n  key_env: \"\"\n"},
	{name: "key env with dash", yaml: "sealing:\n  key_env: MY-KEY\n", paths: []string{"sealing.key_env"}, msg: "sealing.key_env: must be an environment variable name"},
	{name: "key env leading digit", yaml: "sealing:\n  key_env: 1KEY\n", paths: []string{"sealing.key_env"}, msg: "must be an environment variable name"},
	{name: "key env with equals", yaml: "sealing:\n  key_env: \"A=B\"\n", paths: []string{"sealing.key_env"}},
	{name: "key file same as bootstrap file", yaml: "sealing:\n  key_file: /x/k\nadmin:\n  bootstrap_token_file: /x/k\n", paths: []string{"admin.bootstrap_token_file"}, msg: "must not be the same file as sealing.key_file"},
}

func TestSealingValidation(t *testing.T) {
	t.Parallel()
	runCases(t, sealingCases)
}

func TestSealingDefaults(t *testing.T) {
	t.Parallel()
	c, err := Parse(nil, "/srv/portcullis")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("/srv/portcullis", "data", "sealing.key"); c.Sealing.KeyFile != want {
		t.Errorf("sealing.key_file = %q, want %q", c.Sealing.KeyFile, want)
	}
	if c.Sealing.KeyEnv != "PORTCULLIS_SEALING_KEY" {
		t.Errorf("sealing.key_env = %q, want PORTCULLIS_SEALING_KEY", c.Sealing.KeyEnv)
	}
}

func TestSealingKeyFileEmptyIsInvalid(t *testing.T) {
	t.Parallel()
	c := Defaults()
	c.Sealing.KeyFile = ""
	checkErr(t, c.Validate(), []string{"sealing.key_file"}, "sealing.key_file: must be set")
}
