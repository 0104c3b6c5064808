package declare

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Document is one YAML document of declarations.
type Document struct {
	Users   []User   `yaml:"users"`
	Groups  []Group  `yaml:"groups"`
	Clients []Client `yaml:"clients"`
	// Policies, Roles and RoleMappings are the IAM side (iam.go).
	Policies     []Policy      `yaml:"policies"`
	Roles        []Role        `yaml:"roles"`
	RoleMappings []RoleMapping `yaml:"role_mappings"`
	// TrustedIssuers and SAMLProviders are federation settings of the STS, in the
	// shape of the configuration file's sts.issuers and sts.saml_providers
	// (providers.go).
	TrustedIssuers []TrustedIssuer `yaml:"trusted_issuers"`
	SAMLProviders  []SAMLProvider  `yaml:"saml_providers"`

	// Source names where the document came from (a file name) for error messages.
	Source string `yaml:"-"`
	// lines maps key paths ("users[0].emails[1]") to their line in Source.
	lines map[string]int
}

// User declares a directory user, looked up by UserName (case-insensitive).
type User struct {
	UserName    string   `yaml:"user_name"`
	DisplayName string   `yaml:"display_name"`
	Emails      []string `yaml:"emails"`
	// Active defaults to true when omitted.
	Active *bool    `yaml:"active"`
	Roles  []string `yaml:"roles"`
	// PasswordHash pins the password as an argon2id PHC string.
	PasswordHash string `yaml:"password_hash"`
	// InitialPassword is set only when the user is created, with a forced change at the
	// first sign-in. It is ignored for existing users.
	InitialPassword string `yaml:"initial_password"`
}

// IsActive reports the declared active flag (default true).
func (u User) IsActive() bool { return u.Active == nil || *u.Active }

// Group declares a group, looked up by Name (case-insensitive).
type Group struct {
	Name string `yaml:"name"`
	// Members are user names; each must exist in the store or in the documents.
	Members []string `yaml:"members"`
}

// Client declares an OAuth 2.0 / OIDC client, looked up by ID.
type Client struct {
	ID                     string   `yaml:"id"`
	Name                   string   `yaml:"name"`
	Public                 bool     `yaml:"public"`
	Native                 bool     `yaml:"native"`
	RedirectURIs           []string `yaml:"redirect_uris"`
	PostLogoutRedirectURIs []string `yaml:"post_logout_redirect_uris"`
	GrantTypes             []string `yaml:"grant_types"`
	Scopes                 []string `yaml:"scopes"`
	AccessTokenFormat      string   `yaml:"access_token_format"`
	AccessTokenLifetime    Duration `yaml:"access_token_lifetime"`
	IDTokenLifetime        Duration `yaml:"id_token_lifetime"`
	RefreshTokenLifetime   Duration `yaml:"refresh_token_lifetime"`
	// RequireMFA makes every user signing in to this client pass a second factor,
	// whatever the global policy says.
	RequireMFA bool `yaml:"require_mfa"`
	// SecretSHA256 pins known secrets by their hex SHA-256 digest. When empty, a
	// confidential client gets a generated secret on creation (returned once) and keeps
	// whatever secrets it has on later applies.
	SecretSHA256 []string `yaml:"secret_sha256"`
}

// Duration is a time.Duration written as a Go duration string ("10m", "1h30m").
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	fail := func(msg string) error {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, msg)}}
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return fail(`must be a duration string such as "10m" or "12h"`)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fail(fmt.Sprintf("invalid duration %q", n.Value))
	}
	if v < 0 {
		return fail("must not be negative")
	}
	*d = Duration(v)
	return nil
}

// Error is a problem with one key of one document.
type Error struct {
	Source string
	Line   int
	Path   string // key path, e.g. "clients[1].redirect_uris[0]"
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrParse is wrapped by every error Parse returns.
var ErrParse = errors.New("parse declarations")

// maxWalk bounds the nodes the key checker visits, whatever the aliases.
const maxWalk = 200_000

// Parse reads one or more YAML documents. Unknown keys are refused with their path; all
// such errors are collected. source names the input in errors ("iam/users.yaml").
func Parse(data []byte, source string) ([]Document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []Document
	var errs []error
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, syntaxError(source, err))
			break
		}
		doc, derrs := decodeDocument(&root, source)
		errs = append(errs, derrs...)
		if len(derrs) == 0 && doc != nil {
			docs = append(docs, *doc)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrParse, errors.Join(errs...))
	}
	return docs, nil
}

func decodeDocument(root *yaml.Node, source string) (*Document, []error) {
	n := root
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil, nil
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, nil // an empty document, e.g. only comments
	}
	if n.Kind != yaml.MappingNode {
		return nil, []error{&Error{Source: source, Line: n.Line, Msg: "document must be a mapping with keys users, groups, clients, policies, roles, role_mappings"}}
	}
	doc := &Document{Source: source}
	var errs []error
	// Decode first: it refuses alias cycles and alias bombs before the walk below.
	if err := n.Decode(doc); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, []error{syntaxError(source, err)}
		}
		for _, msg := range te.Errors {
			errs = append(errs, typeError(source, msg))
		}
	}
	w := &walker{source: source, lines: map[string]int{}}
	w.walk(n, reflect.TypeFor[Document](), "", false)
	doc.lines = w.lines
	errs = append(w.errs, errs...)
	// Type errors carry only a line; name the key at that line when we know it.
	for _, err := range errs {
		var e *Error
		if errors.As(err, &e) && e.Path == "" && e.Line > 0 {
			e.Path = w.pathAt[e.Line]
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return doc, nil
}

// syntaxError turns "yaml: line 3: did not find expected key" into "source:3: ...".
func syntaxError(source string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line, rest := splitLine(msg)
	return &Error{Source: source, Line: line, Msg: rest}
}

func typeError(source, msg string) error {
	line, rest := splitLine(msg)
	rest = strings.ReplaceAll(rest, "declare.", "")
	return &Error{Source: source, Line: line, Msg: rest}
}

// splitLine splits "line 12: text" into 12 and "text".
func splitLine(msg string) (int, string) {
	after, ok := strings.CutPrefix(msg, "line ")
	if !ok {
		return 0, msg
	}
	num, rest, ok := strings.Cut(after, ": ")
	if !ok {
		return 0, msg
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, msg
	}
	return n, rest
}

// walker checks mapping keys against the yaml tags of the target type (what yaml.v3's
// KnownFields does) but reports each unknown key with its full path, and records the
// line of every path for later validation messages.
type walker struct {
	source string
	lines  map[string]int
	pathAt map[int]string
	errs   []error
	visits int
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string, viaAlias bool) {
	w.visits++
	if w.visits > maxWalk {
		if w.visits == maxWalk+1 {
			w.errs = append(w.errs, &Error{Source: w.source, Line: n.Line, Path: path, Msg: "document too complex"})
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		// Aliased content is checked where its anchor is defined; following aliases
		// here could multiply the work.
		return
	}
	if !viaAlias && path != "" {
		if _, ok := w.lines[path]; !ok {
			w.lines[path] = n.Line
		}
	}
	switch {
	case t == reflect.TypeFor[Duration](), t == reflect.TypeFor[PolicyJSON]():
		// Scalars, or (policies) keys of the IAM grammar, which idp/policy checks.
	case t.Kind() == reflect.Pointer:
		w.walk(n, t.Elem(), path, viaAlias)
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // the decoder reports the type mismatch
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.ShortTag() == "!!merge" {
				w.walkMerge(v, t, path)
				continue
			}
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			f, ok := fieldByTag(t, k.Value)
			if !ok {
				w.errs = append(w.errs, &Error{Source: w.source, Line: k.Line, Path: p, Msg: "unknown key" + knownKeys(t)})
				continue
			}
			if !viaAlias {
				w.lines[p] = k.Line
				w.mark(k.Line, p)
			}
			w.walk(v, f.Type, p, viaAlias)
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, e := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			if !viaAlias {
				w.mark(e.Line, p)
			}
			w.walk(e, t.Elem(), p, viaAlias)
		}
	}
}

// walkMerge checks the keys a YAML merge key ("<<: *base") brings in.
func (w *walker) walkMerge(v *yaml.Node, t reflect.Type, path string) {
	switch v.Kind {
	case yaml.AliasNode:
		if v.Alias != nil {
			w.walk(v.Alias, t, path, true)
		}
	case yaml.SequenceNode:
		for _, e := range v.Content {
			w.walkMerge(e, t, path)
		}
	case yaml.MappingNode:
		w.walk(v, t, path, true)
	}
}

// mark remembers the first path seen on a line.
func (w *walker) mark(line int, path string) {
	if w.pathAt == nil {
		w.pathAt = map[int]string{}
	}
	if _, ok := w.pathAt[line]; !ok {
		w.pathAt[line] = path
	}
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name != "" && name != "-" && name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func knownKeys(t reflect.Type) string {
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return " (known: " + strings.Join(names, ", ") + ")"
}

// lineOf returns the line of path or of its nearest ancestor, 0 when unknown.
func (d *Document) lineOf(path string) int {
	for path != "" {
		if l, ok := d.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// errAt builds an Error for path in d.
func (d *Document) errAt(path, format string, args ...any) *Error {
	return &Error{Source: d.Source, Line: d.lineOf(path), Path: path, Msg: fmt.Sprintf(format, args...)}
}
