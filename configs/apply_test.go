package configs

import (
	"os"
	"path/filepath"
	"testing"
)

// applyCases run in an empty directory, so every file they name is missing.
var applyCases = []validationCase{
	{name: "none", yaml: "apply: []\n"},
	{name: "missing", yaml: "apply: [iam.yaml]\n", paths: []string{"apply[0]"}, msg: "apply[0]: file does not exist"},
	{name: "empty entry", yaml: "apply: [\"\"]\n", paths: []string{"apply[0]"}, msg: "apply[0]: must be a file path, not empty"},
	{name: "not a list", yaml: "apply: iam.yaml\n", paths: []string{"apply"}, msg: "apply: must be a list"},
	{name: "mapping entry", yaml: "apply:\n  - file: iam.yaml\n", paths: []string{"apply[0]"}, msg: "must be a single value"},
}

func TestApplyValidation(t *testing.T) {
	t.Parallel()
	runCases(t, applyCases)
}

func TestApplyFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{"clients.yaml", "users.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("{}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "iam.d"), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		yaml  string
		paths []string
		msg   string
	}{
		{name: "existing files", yaml: "apply: [clients.yaml, users.yaml]\n"},
		{name: "second missing", yaml: "apply: [clients.yaml, groups.yaml]\n", paths: []string{"apply[1]"}, msg: "apply[1]: file does not exist: " + filepath.Join(dir, "groups.yaml")},
		{name: "directory", yaml: "apply: [iam.d]\n", paths: []string{"apply[0]"}, msg: "apply[0]: is a directory"},
		{name: "duplicate", yaml: "apply: [clients.yaml, ./clients.yaml]\n", paths: []string{"apply[1]"}, msg: "apply[1]: duplicate of apply[0]"},
		{name: "several bad", yaml: "apply: [a.yaml, users.yaml, b.yaml]\n", paths: []string{"apply[0]", "apply[2]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.yaml), dir)
			checkErr(t, err, tc.paths, tc.msg)
		})
	}
}
