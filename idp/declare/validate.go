package declare

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/portcullis-id/portcullis/store"
)

// ClientValidator checks an OAuth client. Its error is nil or an errors.Join tree whose
// leaves name a field of store.Client by its JSON key path ("redirect_uris[0]"): either
// through a FieldPath() string method or as an Error() text of the form "path: message".
type ClientValidator interface {
	ValidateClient(store.Client) error
}

// ClientService is a ClientValidator that also mints client secrets.
type ClientService interface {
	ClientValidator
	// NewClientSecret returns a secret to show once and its digest record.
	NewClientSecret(rand io.Reader, now, expires time.Time) (string, store.ClientSecret, error)
}

// PasswordHasher hashes and checks human passwords (argon2id).
type PasswordHasher interface {
	Hash(password string) (string, error)
	// CheckHash reports whether phc is a PHC string this server can verify.
	CheckHash(phc string) error
	// CheckPolicy reports whether password is acceptable for userName.
	CheckPolicy(password, userName string) error
}

// clientIDPattern keeps client ids safe in URLs, logs and HTTP Basic credentials.
var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,128}$`)

// Validate checks docs as a whole and returns every problem at once, joined; each is an
// *Error naming the source, line and key path.
//
// Policy documents are checked for their JSON shape only; a Reconciler with
// WithPolicies also checks them against the IAM grammar.
func Validate(docs []Document, clients ClientValidator, pw PasswordHasher) error {
	return validateAll(docs, clients, pw, nil, "")
}

func (r *Reconciler) validate(docs []Document) error {
	return errors.Join(validateAll(docs, r.cl, r.pw, r.pv, r.account), errors.Join(validateProviders(docs, r.providers)...))
}

func validateAll(docs []Document, clients ClientValidator, pw PasswordHasher, pv PolicyValidator, account string) error {
	var errs []error
	users := map[string]string{}     // lower user name -> where first declared
	groups := map[string]string{}    // lower group name -> where
	clientIDs := map[string]string{} // client id -> where
	for di := range docs {
		d := &docs[di]
		for i, u := range d.Users {
			p := fmt.Sprintf("users[%d]", i)
			errs = append(errs, validateUser(d, p, u, pw)...)
			if u.UserName != "" {
				errs = appendDup(errs, d, users, strings.ToLower(u.UserName), p+".user_name", "user_name", u.UserName)
			}
		}
		for i, g := range d.Groups {
			p := fmt.Sprintf("groups[%d]", i)
			errs = append(errs, validateGroup(d, p, g)...)
			if g.Name != "" {
				errs = appendDup(errs, d, groups, strings.ToLower(g.Name), p+".name", "group name", g.Name)
			}
		}
		for i, c := range d.Clients {
			p := fmt.Sprintf("clients[%d]", i)
			errs = append(errs, validateClient(d, p, c, clients)...)
			if c.ID != "" {
				errs = appendDup(errs, d, clientIDs, c.ID, p+".id", "client id", c.ID)
			}
		}
	}
	errs = append(errs, validateIAM(docs, pv, account)...)
	return errors.Join(errs...)
}

func appendDup(errs []error, d *Document, seen map[string]string, key, path, what, value string) []error {
	here := fmt.Sprintf("%s:%d", d.Source, d.lineOf(path))
	if first, ok := seen[key]; ok {
		return append(errs, d.errAt(path, "duplicate %s %q (first declared at %s)", what, value, first))
	}
	seen[key] = here
	return errs
}

func validateUser(d *Document, p string, u User, pw PasswordHasher) []error {
	var errs []error
	if msg := checkName(u.UserName, 256); msg != "" {
		errs = append(errs, d.errAt(p+".user_name", "%s", msg))
	}
	if len(u.DisplayName) > 256 || hasControl(u.DisplayName) {
		errs = append(errs, d.errAt(p+".display_name", "must be at most 256 printable characters"))
	}
	errs = append(errs, checkEmails(d, p+".emails", u.Emails)...)
	errs = append(errs, checkWords(d, p+".roles", u.Roles)...)
	switch {
	case u.PasswordHash != "" && u.InitialPassword != "":
		errs = append(errs, d.errAt(p+".initial_password", "set either password_hash or initial_password, not both"))
	case u.PasswordHash != "":
		if err := pw.CheckHash(u.PasswordHash); err != nil {
			errs = append(errs, d.errAt(p+".password_hash", "must be an argon2id PHC string: %v", err))
		}
	case u.InitialPassword != "":
		if err := pw.CheckPolicy(u.InitialPassword, u.UserName); err != nil {
			errs = append(errs, d.errAt(p+".initial_password", "%v", err))
		}
	}
	return errs
}

func validateGroup(d *Document, p string, g Group) []error {
	var errs []error
	if msg := checkName(g.Name, 256); msg != "" {
		errs = append(errs, d.errAt(p+".name", "%s", msg))
	}
	seen := map[string]bool{}
	for i, m := range g.Members {
		mp := fmt.Sprintf("%s.members[%d]", p, i)
		switch {
		case strings.TrimSpace(m) == "":
			errs = append(errs, d.errAt(mp, "must name a user"))
		case seen[strings.ToLower(m)]:
			errs = append(errs, d.errAt(mp, "duplicate member %q", m))
		}
		seen[strings.ToLower(m)] = true
	}
	return errs
}

func validateClient(d *Document, p string, c Client, v ClientValidator) []error {
	var errs []error
	if !clientIDPattern.MatchString(c.ID) {
		errs = append(errs, d.errAt(p+".id", "must be 1 to 128 characters of A-Z a-z 0-9 . _ ~ -"))
	}
	if c.Public && len(c.SecretSHA256) > 0 {
		errs = append(errs, d.errAt(p+".secret_sha256", "a public client has no secret"))
	}
	if len(c.SecretSHA256) > 2 {
		errs = append(errs, d.errAt(p+".secret_sha256", "at most two secrets may be live at once"))
	}
	seen := map[string]bool{}
	for i, s := range c.SecretSHA256 {
		sp := fmt.Sprintf("%s.secret_sha256[%d]", p, i)
		b, err := hex.DecodeString(s)
		switch {
		case err != nil || len(b) != 32:
			errs = append(errs, d.errAt(sp, "must be 64 hexadecimal characters (a SHA-256 digest)"))
		case seen[strings.ToLower(s)]:
			errs = append(errs, d.errAt(sp, "duplicate digest"))
		}
		seen[strings.ToLower(s)] = true
	}
	if err := v.ValidateClient(c.storeClient()); err != nil {
		for _, fe := range FieldErrors(err) {
			path := p
			if fe.Path != "" {
				path = p + "." + fe.Path
			}
			errs = append(errs, d.errAt(path, "%s", fe.Msg))
		}
	}
	return errs
}

// storeClient is the client as the store will hold it, without secrets.
func (c Client) storeClient() store.Client {
	return store.Client{
		ID:                     c.ID,
		Name:                   c.Name,
		Public:                 c.Public,
		Native:                 c.Native,
		RedirectURIs:           c.RedirectURIs,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		GrantTypes:             c.GrantTypes,
		Scopes:                 c.Scopes,
		AccessTokenFormat:      c.AccessTokenFormat,
		AccessTokenLifetime:    time.Duration(c.AccessTokenLifetime),
		IDTokenLifetime:        time.Duration(c.IDTokenLifetime),
		RefreshTokenLifetime:   time.Duration(c.RefreshTokenLifetime),
		RequireMFA:             c.RequireMFA,
	}
}

// fieldPathPattern recognises a key path at the start of an error text.
var fieldPathPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]*(\[[0-9]+\])?(\.[a-z_][a-z0-9_]*(\[[0-9]+\])?)*$`)

// FieldErrors flattens a validator error (an errors.Join tree) into path + message
// pairs. A leaf names its path through a FieldPath() string method, or as the text
// before the first ": " of its message; other leaves get an empty Path.
func FieldErrors(err error) []*Error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*Error
		for _, e := range j.Unwrap() {
			out = append(out, FieldErrors(e)...)
		}
		return out
	}
	msg := err.Error()
	if fp, ok := err.(interface{ FieldPath() string }); ok {
		path := fp.FieldPath()
		return []*Error{{Path: path, Msg: strings.TrimPrefix(msg, path+": ")}}
	}
	if head, rest, ok := strings.Cut(msg, ": "); ok && fieldPathPattern.MatchString(head) {
		return []*Error{{Path: head, Msg: rest}}
	}
	return []*Error{{Msg: msg}}
}

// checkName returns a complaint about a user or group name, or "".
func checkName(s string, max int) string {
	switch {
	case s == "":
		return "must not be empty"
	case strings.TrimSpace(s) != s:
		return "must not start or end with white space"
	case len(s) > max:
		return fmt.Sprintf("must be at most %d bytes", max)
	case hasControl(s):
		return "must not contain control characters"
	}
	return ""
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// CheckEmail reports whether s is a bare address such as "alice@example.com".
func CheckEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || len(s) > 254 {
		return errors.New("must be an email address such as alice@example.com")
	}
	return nil
}

func checkEmails(d *Document, p string, emails []string) []error {
	var errs []error
	seen := map[string]bool{}
	for i, e := range emails {
		ep := fmt.Sprintf("%s[%d]", p, i)
		if err := CheckEmail(e); err != nil {
			errs = append(errs, d.errAt(ep, "%v", err))
		} else if seen[strings.ToLower(e)] {
			errs = append(errs, d.errAt(ep, "duplicate email %q", e))
		}
		seen[strings.ToLower(e)] = true
	}
	return errs
}

// CheckWord reports whether s is usable as a role name: non-empty, no white space or
// control characters, at most 128 bytes.
func CheckWord(s string) error {
	if s == "" || len(s) > 128 || strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return errors.New("must be a non-empty word of at most 128 bytes")
	}
	return nil
}

func checkWords(d *Document, p string, words []string) []error {
	var errs []error
	seen := map[string]bool{}
	for i, w := range words {
		wp := fmt.Sprintf("%s[%d]", p, i)
		if err := CheckWord(w); err != nil {
			errs = append(errs, d.errAt(wp, "%v", err))
		} else if seen[w] {
			errs = append(errs, d.errAt(wp, "duplicate %q", w))
		}
		seen[w] = true
	}
	return errs
}

// CheckName reports whether s is usable as a user or group name: non-empty, no
// surrounding white space, no control characters, at most 256 bytes.
func CheckName(s string) error {
	if msg := checkName(s, 256); msg != "" {
		return errors.New(msg)
	}
	return nil
}

// CheckClientID reports whether id is usable as an OAuth client id.
func CheckClientID(id string) error {
	if !clientIDPattern.MatchString(id) {
		return errors.New("must be 1 to 128 characters of A-Z a-z 0-9 . _ ~ -")
	}
	return nil
}
