package configs

import "testing"

var serverCases = []validationCase{
	{name: "listen all interfaces", yaml: `listen: ":8443"`},
	{name: "listen ipv6", yaml: `listen: "[::1]:8080"`},
	{name: "listen hostname port 0", yaml: `listen: localhost:0`},
	{name: "listen empty", yaml: `listen: ""`, paths: []string{"listen"}, msg: "listen: must be set"},
	{name: "listen no port", yaml: `listen: "8080"`, paths: []string{"listen"}, msg: "listen: must be host:port"},
	{name: "listen named port", yaml: `listen: "127.0.0.1:http"`, paths: []string{"listen"}, msg: "port must be a number from 0 to 65535"},
	{name: "listen port too big", yaml: `listen: "127.0.0.1:70000"`, paths: []string{"listen"}, msg: "port must be a number"},
	{name: "listen port with sign", yaml: `listen: "127.0.0.1:+80"`, paths: []string{"listen"}, msg: "port must be a number"},
	{name: "listen bad host", yaml: `listen: "bad_host!:80"`, paths: []string{"listen"}, msg: "host must be an IP address or a host name"},

	{name: "issuer https", yaml: `issuer: https://id.example.com`},
	{name: "issuer https port path", yaml: `issuer: https://id.example.com:8443/tenant-a`},
	{name: "issuer http localhost", yaml: `issuer: http://localhost:8080`},
	{name: "issuer http ipv6 loopback", yaml: `issuer: "http://[::1]:8080"`},
	{name: "issuer empty", yaml: `issuer: ""`, paths: []string{"issuer"}, msg: "issuer: must be set"},
	{name: "issuer relative", yaml: `issuer: id.example.com`, paths: []string{"issuer"}, msg: "must be an absolute URL"},
	{name: "issuer path only", yaml: `issuer: /oidc`, paths: []string{"issuer"}, msg: "must be an absolute URL"},
	{name: "issuer other scheme", yaml: `issuer: ftp://id.example.com`, paths: []string{"issuer"}, msg: `must use https (got scheme "ftp")`},
	{name: "issuer opaque", yaml: `issuer: "https:id.example.com"`, paths: []string{"issuer"}, msg: "must be an absolute URL"},
	{name: "issuer http public host", yaml: `issuer: http://id.example.com`, paths: []string{"issuer"}, msg: "http is allowed only on a loopback host"},
	{name: "issuer http other loopback address", yaml: `issuer: http://127.0.0.2:8080`, paths: []string{"issuer"}, msg: "http is allowed only on a loopback host"},
	{name: "issuer uppercase scheme", yaml: `issuer: HTTPS://id.example.com`, paths: []string{"issuer"}, msg: "scheme must be written in lowercase"},
	{name: "issuer uppercase host", yaml: `issuer: https://ID.example.com`, paths: []string{"issuer"}, msg: "host must be lowercase"},
	{name: "issuer userinfo", yaml: `issuer: https://admin:pw@id.example.com`, paths: []string{"issuer"}, msg: "must not contain a user name or password"},
	{name: "issuer query", yaml: `issuer: https://id.example.com?tenant=a`, paths: []string{"issuer"}, msg: "must not have a query"},
	{name: "issuer empty query", yaml: `issuer: https://id.example.com?`, paths: []string{"issuer"}, msg: "must not have a query"},
	{name: "issuer fragment", yaml: `issuer: "https://id.example.com#x"`, paths: []string{"issuer"}, msg: "must not have a fragment"},
	{name: "issuer empty fragment", yaml: `issuer: "https://id.example.com#"`, paths: []string{"issuer"}, msg: "must not have a fragment"},
	{name: "issuer trailing slash", yaml: `issuer: https://id.example.com/`, paths: []string{"issuer"}, msg: `must not end with a slash (write "https://id.example.com")`},
	{name: "issuer path trailing slash", yaml: `issuer: https://id.example.com/t/`, paths: []string{"issuer"}, msg: "must not end with a slash"},
	{name: "issuer dot segments", yaml: `issuer: https://id.example.com/a/../b`, paths: []string{"issuer"}, msg: "must not contain empty"},
	{name: "issuer empty port", yaml: `issuer: "https://id.example.com:"`, paths: []string{"issuer"}, msg: "port must not be empty"},
	{name: "issuer port zero", yaml: `issuer: "https://id.example.com:0"`, paths: []string{"issuer"}, msg: "port must be a number from 1 to 65535"},
	{name: "issuer port too big", yaml: `issuer: "https://id.example.com:99999"`, paths: []string{"issuer"}, msg: "port must be a number"},

	{name: "data_dir empty", yaml: `data_dir: ""`, paths: []string{"data_dir"}, msg: "data_dir: must be set"},
}

func TestServerValidation(t *testing.T) {
	t.Parallel()
	runCases(t, serverCases)
}

func TestIssuerHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		issuer    string
		wantHTTPS bool
		wantHost  string
	}{
		{"https://id.example.com/t", true, "id.example.com"},
		{"http://127.0.0.1:8080", false, "127.0.0.1:8080"},
	}
	for _, tc := range tests {
		t.Run(tc.issuer, func(t *testing.T) {
			t.Parallel()
			c := Defaults()
			c.Issuer = tc.issuer
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := c.IsHTTPS(); got != tc.wantHTTPS {
				t.Errorf("IsHTTPS() = %v, want %v", got, tc.wantHTTPS)
			}
			if got := c.IssuerURL(); got == nil || got.Host != tc.wantHost || got.String() != tc.issuer {
				t.Errorf("IssuerURL() = %v, want host %q and string %q", got, tc.wantHost, tc.issuer)
			}
		})
	}
}

func TestIssuerURLUnparsableIsNil(t *testing.T) {
	t.Parallel()
	c := Config{Issuer: "https://bad host\x7f"}
	if u := c.IssuerURL(); u != nil {
		t.Errorf("IssuerURL() = %v, want nil", u)
	}
	if c.IsHTTPS() {
		t.Error("IsHTTPS() = true for an unparsable issuer")
	}
}
