package configs

import (
	"net"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// Server section: the top-level keys listen, issuer and data_dir.
const (
	defaultListen  = "127.0.0.1:8080"
	defaultIssuer  = "http://127.0.0.1:8080"
	defaultDataDir = "./data"
)

// loopbackHosts are the only hosts an http issuer may use. RFC 8252 §8.3 treats the
// loopback interface as not reachable by others; any other host over plain http
// would send codes and tokens readable on the network.
func isLoopbackHost(h string) bool {
	switch h {
	case "127.0.0.1", "::1", "localhost":
		return true
	}
	return false
}

func validateListen(p *problems, listen string) {
	const key = "listen"
	if listen == "" {
		p.add(key, "must be set to host:port, e.g. 127.0.0.1:8080")
		return
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		p.add(key, "must be host:port, e.g. 127.0.0.1:8080 or [::1]:8080 (got %q)", listen)
		return
	}
	// Named ports ("http") depend on /etc/services; a number says what it means.
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || port != strconv.FormatUint(n, 10) {
		p.add(key, "port must be a number from 0 to 65535 (got %q)", port)
	}
	if host == "" {
		return // every interface
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return
	}
	if !isHostname(host) {
		p.add(key, "host must be an IP address or a host name (got %q)", host)
	}
}

// isHostname reports whether h is a DNS name made of letters, digits and hyphens
// (RFC 1123 §2.1).
func isHostname(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// validateIssuer applies OpenID Connect Core 1.0 §2 ("iss": an https URL with scheme,
// host, optional port and path, and no query or fragment) and Discovery 1.0 §4.3
// (the issuer in discovery must equal the configured one exactly).
func validateIssuer(p *problems, issuer string) {
	const key = "issuer"
	if issuer == "" {
		p.add(key, "must be set to an absolute URL, e.g. https://id.example.com")
		return
	}
	u, err := url.Parse(issuer)
	if err != nil {
		p.add(key, "must be an absolute URL such as https://id.example.com (got %q)", issuer)
		return
	}
	if u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		p.add(key, "must be an absolute URL with a host, e.g. https://id.example.com (got %q)", issuer)
		return
	}
	// url.Parse lowercases the scheme; relying parties compare iss byte for byte,
	// so the configured string itself must already be canonical.
	if !strings.HasPrefix(issuer, "https://") && !strings.HasPrefix(issuer, "http://") {
		if u.Scheme == "https" || u.Scheme == "http" {
			p.add(key, "scheme must be written in lowercase: relying parties compare the issuer byte for byte")
		} else {
			p.add(key, "must use https (got scheme %q)", u.Scheme)
		}
		return
	}
	host := u.Hostname()
	if u.Scheme == "http" && !isLoopbackHost(host) {
		p.add(key, "must use https; http is allowed only on a loopback host (127.0.0.1, ::1, localhost), got host %q", host)
	}
	if u.User != nil {
		p.add(key, "must not contain a user name or password")
	}
	if host != strings.ToLower(host) {
		p.add(key, "host must be lowercase: relying parties compare the issuer byte for byte")
	}
	if strings.HasSuffix(u.Host, ":") {
		p.add(key, "port must not be empty")
	} else if port := u.Port(); port != "" {
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			p.add(key, "port must be a number from 1 to 65535 (got %q)", port)
		}
	}
	if u.RawQuery != "" || u.ForceQuery {
		p.add(key, "must not have a query (OpenID Connect Core 1.0 §2)")
	}
	if u.Fragment != "" || strings.Contains(issuer, "#") {
		p.add(key, "must not have a fragment (OpenID Connect Core 1.0 §2)")
	}
	switch {
	case strings.HasSuffix(u.Path, "/"):
		// Discovery appends "/.well-known/openid-configuration" to the issuer
		// (Discovery 1.0 §4), and "https://a/" and "https://a" are different issuers
		// to a relying party.
		p.add(key, "must not end with a slash (write %q)", strings.TrimRight(issuer, "/"))
	case u.Path != "" && path.Clean(u.Path) != u.Path:
		p.add(key, "path must not contain empty, \".\" or \"..\" segments (got %q)", u.Path)
	}
}

func validateDataDir(p *problems, dir string) {
	if dir == "" {
		p.add("data_dir", "must be set to a directory, e.g. ./data")
	}
}
