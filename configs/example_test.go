package configs

import (
	"os"
	"reflect"
	"testing"

	"gopkg.in/yaml.v3"
)

// configKeyPaths lists the key path of every field of t, recursively, by yaml tag.
func configKeyPaths(t reflect.Type, prefix string) []string {
	var out []string
	for name, f := range yamlFields(t) {
		p := joinPath(prefix, name)
		out = append(out, p)
		if f.Type.Kind() == reflect.Struct {
			out = append(out, configKeyPaths(f.Type, p)...)
		}
	}
	return out
}

// documentedKeys maps each key path in a YAML mapping tree to whether it carries a
// comment (above it or at the end of its line).
func documentedKeys(n *yaml.Node, prefix string, out map[string]bool) {
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			documentedKeys(c, prefix, out)
		}
		return
	}
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := joinPath(prefix, k.Value)
		out[p] = k.HeadComment != "" || k.LineComment != "" || v.LineComment != ""
		documentedKeys(v, p, out)
	}
}

func readExample(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestExampleDocumentsEveryKey(t *testing.T) {
	t.Parallel()
	var doc yaml.Node
	if err := yaml.Unmarshal(readExample(t), &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	documentedKeys(&doc, "", documented)
	paths := configKeyPaths(typeOf[Config](), "")
	if len(paths) < 30 {
		t.Fatalf("found only %d config keys; the reflection walk is broken", len(paths))
	}
	for _, p := range paths {
		hasComment, ok := documented[p]
		switch {
		case !ok:
			t.Errorf("example.yaml does not show key %s", p)
		case !hasComment:
			t.Errorf("example.yaml shows key %s without a comment explaining it", p)
		}
	}
}

func TestExampleParsesToDefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	got, err := Parse(readExample(t), dir)
	if err != nil {
		t.Fatalf("example.yaml does not parse:\n%v", err)
	}
	want, err := Parse(nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("example.yaml values differ from the defaults it claims to show:\n%+v\nwant\n%+v", got, want)
	}
}
