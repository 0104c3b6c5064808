package clientip

import (
	"net/http/httptest"
	"testing"
)

func TestFrom(t *testing.T) {
	t.Parallel()
	r, err := Parse([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, remote, xff, want string
	}{
		{"direct client ignores xff", "192.0.2.7:1234", "198.51.100.1", "192.0.2.7"},
		{"trusted proxy believed", "10.1.2.3:80", "198.51.100.1", "198.51.100.1"},
		{"rightmost untrusted hop wins", "10.1.2.3:80", "203.0.113.9, 198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"garbage stops the walk", "10.1.2.3:80", "nonsense", "10.1.2.3"},
		{"mapped v4 unmapped", "[::ffff:192.0.2.1]:5", "", "192.0.2.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tc.remote
			if tc.xff != "" {
				req.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := r.From(req); got != tc.want {
				t.Fatalf("From = %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := Parse([]string{"not-a-cidr"}); err == nil {
		t.Fatal("Parse accepted a bad CIDR")
	}
}
