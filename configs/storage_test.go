package configs

import (
	"path/filepath"
	"testing"
)

var storageCases = []validationCase{
	{name: "bolt explicit", yaml: "storage:\n  backend: bolt\n  bolt:\n    path: db/p.db\n"},
	{name: "backend unknown", yaml: "storage:\n  backend: postgres\n", paths: []string{"storage.backend"}, msg: `storage.backend: must be one of bolt (got "postgres")`},
	{name: "backend wrong case", yaml: "storage:\n  backend: Bolt\n", paths: []string{"storage.backend"}, msg: "case-sensitive"},
	{name: "backend empty", yaml: "storage:\n  backend: \"\"\n", paths: []string{"storage.backend"}, msg: "must be one of bolt"},
	{name: "bolt path is a list", yaml: "storage:\n  bolt:\n    path: [a]\n", paths: []string{"storage.bolt.path"}, msg: "must be a single value"},
	{name: "bolt path same as key file", yaml: "storage:\n  bolt:\n    path: x\nsealing:\n  key_file: x\n", paths: []string{"sealing.key_file"}, msg: "must not be the same file as storage.bolt.path"},
}

func TestStorageValidation(t *testing.T) {
	t.Parallel()
	runCases(t, storageCases)
}

func TestBoltPathFollowsDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := Parse([]byte("data_dir: /var/lib/portcullis\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("/var/lib/portcullis", "portcullis.db"); c.Storage.Bolt.Path != want {
		t.Errorf("storage.bolt.path = %q, want %q", c.Storage.Bolt.Path, want)
	}
	c, err = Parse([]byte("data_dir: /var/lib/portcullis\nstorage:\n  bolt:\n    path: /srv/p.db\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage.Bolt.Path != "/srv/p.db" {
		t.Errorf("explicit storage.bolt.path = %q, want /srv/p.db", c.Storage.Bolt.Path)
	}
}
