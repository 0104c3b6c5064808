package declare

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseTestdata(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file                    string
		docs, users, grp, clnts int
		wantErr                 string
	}{
		{file: "basic.yaml", docs: 1, users: 2, grp: 1, clnts: 2},
		{file: "multi.yaml", docs: 3, users: 1, grp: 1, clnts: 1},
		{file: "anchors.yaml", docs: 1, clnts: 2},
		{file: "empty.yaml", docs: 0},
		{file: "unknown_key.yaml", wantErr: "unknown_key.yaml:3: users[0].emial: unknown key"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			docs, err := Parse(data, tc.file)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var u, g, c int
			for _, d := range docs {
				u, g, c = u+len(d.Users), g+len(d.Groups), c+len(d.Clients)
			}
			if len(docs) != tc.docs || u != tc.users || g != tc.grp || c != tc.clnts {
				t.Fatalf("got %d docs, %d users, %d groups, %d clients", len(docs), u, g, c)
			}
		})
	}
}

func TestParseFieldValues(t *testing.T) {
	t.Parallel()
	data, _ := os.ReadFile("testdata/basic.yaml")
	docs, err := Parse(data, "basic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := docs[0]
	if !d.Users[0].IsActive() || d.Users[1].IsActive() {
		t.Fatal("active default or explicit false not honoured")
	}
	if got := time.Duration(d.Clients[0].AccessTokenLifetime); got != 10*time.Minute {
		t.Fatalf("access_token_lifetime = %v", got)
	}
	if d.lineOf("clients[0].redirect_uris[0]") != 19 {
		t.Fatalf("line of clients[0].redirect_uris[0] = %d, want 19", d.lineOf("clients[0].redirect_uris[0]"))
	}
	docs, _ = Parse([]byte(mustRead(t, "testdata/anchors.yaml")), "a.yaml")
	if c := docs[0].Clients[1]; c.ID != "two" || time.Duration(c.AccessTokenLifetime) != 5*time.Minute {
		t.Fatalf("merge key not applied: %+v", c)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseErrorsNameSourceLineAndPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"unknown top-level key", "connectors: []\n", []string{"x.yaml:1: connectors: unknown key (known: users, groups, clients, policies, roles, role_mappings, trusted_issuers, saml_providers)"}},
		{"unknown nested key in second doc", "users: []\n---\nclients:\n  - id: a\n    redirect_uri: [x]\n", []string{"x.yaml:5: clients[0].redirect_uri: unknown key"}},
		{"several unknown keys collected", "users:\n  - user_name: a\n    foo: 1\n  - user_name: b\n    bar: 2\n", []string{"users[0].foo", "users[1].bar"}},
		{"bad duration", "clients:\n  - id: a\n    access_token_lifetime: ten\n", []string{`x.yaml:3: clients[0].access_token_lifetime: invalid duration "ten"`}},
		{"integer duration", "clients:\n  - id: a\n    id_token_lifetime: 600\n", []string{"x.yaml:3: clients[0].id_token_lifetime: must be a duration string"}},
		{"negative duration", "clients:\n  - id: a\n    id_token_lifetime: -1m\n", []string{"must not be negative"}},
		{"wrong type", "users:\n  - user_name: a\n    active: maybe\n", []string{"x.yaml:3: users[0].active: cannot unmarshal"}},
		{"syntax error", "users:\n  - user_name: a\n   bad: [\n", []string{"x.yaml:"}},
		{"not a mapping", "- a\n- b\n", []string{"x.yaml:1: document must be a mapping"}},
		{"merge of unknown key", "users:\n  - &u\n    user_name: a\n  - <<: {nick: x}\n    user_name: b\n", []string{"users[1].nick: unknown key"}},
		{"alias cycle", "users: &a\n  - user_name: x\n    emails: *a\n", []string{"x.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.in), "x.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrParse) {
				t.Fatalf("error does not wrap ErrParse: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, fn := range files {
		b, err := os.ReadFile(fn)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("users: &a\n  - user_name: x\n    emails: *a\n"))
	f.Add([]byte("clients:\n  - <<: [{id: a}, {name: b}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if !errors.Is(err, ErrParse) {
				t.Fatalf("error does not wrap ErrParse: %v", err)
			}
			if docs != nil {
				t.Fatal("documents returned with an error")
			}
			return
		}
		// Whatever parses must validate without panicking.
		_ = Validate(docs, fakeClients{}, fakeHasher{})
	})
}
