package clientip

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver resolves client addresses behind a set of trusted proxies.
type Resolver struct {
	Trusted []netip.Prefix
}

// Parse builds a Resolver from CIDR strings.
func Parse(cidrs []string) (Resolver, error) {
	var r Resolver
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return Resolver{}, err
		}
		r.Trusted = append(r.Trusted, p.Masked())
	}
	return r, nil
}

func (r Resolver) trusted(a netip.Addr) bool {
	for _, p := range r.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// From returns the client address of req as a string.
func (r Resolver) From(req *http.Request) string {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if !r.trusted(addr) {
		return addr.String()
	}
	hops := strings.Split(strings.Join(req.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		h = h.Unmap()
		if !r.trusted(h) {
			return h.String()
		}
		addr = h
	}
	return addr.String()
}
