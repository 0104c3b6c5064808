package declare

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateNamesEveryBadField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"redirect uri via client validator", "clients:\n  - id: a\n  - id: b\n    redirect_uris: [https://ok.example/cb, relative/cb]\n",
			[]string{"test.yaml:4: clients[1].redirect_uris[1]: must be absolute"}},
		{"client id", "clients:\n  - id: 'a b'\n", []string{"clients[0].id: must be 1 to 128 characters"}},
		{"public with secret", "clients:\n  - id: a\n    public: true\n    secret_sha256: [2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824]\n",
			[]string{"clients[0].secret_sha256: a public client has no secret"}},
		{"bad digest", "clients:\n  - id: a\n    secret_sha256: [abc]\n", []string{"clients[0].secret_sha256[0]: must be 64 hexadecimal"}},
		{"empty user name", "users:\n  - display_name: x\n", []string{"users[0].user_name: must not be empty"}},
		{"bad email", "users:\n  - user_name: a\n    emails: [a@example.com, 'Alice <a@example.com>']\n", []string{"users[0].emails[1]: must be an email address"}},
		{"bad role", "users:\n  - user_name: a\n    roles: ['ad min']\n", []string{"users[0].roles[0]"}},
		{"bad hash", "users:\n  - user_name: a\n    password_hash: plaintext\n", []string{"users[0].password_hash: must be an argon2id PHC string"}},
		{"both passwords", "users:\n  - user_name: a\n    password_hash: $argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA\n    initial_password: long-enough-secret\n",
			[]string{"users[0].initial_password: set either password_hash or initial_password, not both"}},
		{"weak initial password", "users:\n  - user_name: a\n    initial_password: short\n", []string{"users[0].initial_password: must be at least 12 characters"}},
		{"duplicate user across documents", "users:\n  - user_name: Alice\n---\nusers:\n  - user_name: alice\n",
			[]string{`test.yaml:5: users[0].user_name: duplicate user_name "alice" (first declared at test.yaml:2)`}},
		{"duplicate group", "groups:\n  - name: g\n  - name: G\n", []string{"groups[1].name: duplicate group name"}},
		{"duplicate client", "clients:\n  - id: c\n---\nclients:\n  - id: c\n", []string{"clients[0].id: duplicate client id"}},
		{"duplicate member", "groups:\n  - name: g\n    members: [a, A]\n", []string{"groups[0].members[1]: duplicate member"}},
		{"client validator path", "clients:\n  - id: c\n    access_token_format: paseto\n", []string{"test.yaml:3: clients[0].access_token_format: must be jwt or opaque"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Validate(mustParse(t, tc.in), fakeClients{}, fakeHasher{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestValidateCollectsAllErrors(t *testing.T) {
	t.Parallel()
	err := Validate(mustParse(t, "users:\n  - user_name: ''\n  - user_name: b\n    emails: [nope]\nclients:\n  - id: ''\n"), fakeClients{}, fakeHasher{})
	var all []*Error
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var de *Error
		if !errors.As(e, &de) {
			t.Fatalf("%T is not *Error", e)
		}
		all = append(all, de)
	}
	if len(all) != 3 {
		t.Fatalf("got %d errors, want 3: %v", len(all), err)
	}
}

func TestValidateAcceptsTestdata(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"basic.yaml", "multi.yaml", "anchors.yaml"} {
		docs, err := Parse([]byte(mustRead(t, "testdata/"+f)), f)
		if err != nil {
			t.Fatal(err)
		}
		if err := Validate(docs, fakeClients{}, fakeHasher{}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

type pathErr struct{ p string }

func (e pathErr) Error() string     { return "x " + e.p + " broken" }
func (e pathErr) FieldPath() string { return e.p }

func TestFieldErrors(t *testing.T) {
	t.Parallel()
	err := errors.Join(&fieldErr{"redirect_uris[0]", "must be absolute"}, pathErr{"scopes[2]"}, errors.New("client is odd"), errors.New("Weird: text"))
	got := FieldErrors(err)
	want := []Error{{Path: "redirect_uris[0]", Msg: "must be absolute"}, {Path: "scopes[2]", Msg: "x scopes[2] broken"}, {Msg: "client is odd"}, {Msg: "Weird: text"}}
	if len(got) != len(want) {
		t.Fatalf("got %d, want %d", len(got), len(want))
	}
	for i := range want {
		if *got[i] != want[i] {
			t.Errorf("[%d] = %+v, want %+v", i, *got[i], want[i])
		}
	}
}
