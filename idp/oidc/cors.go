package oidc

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/rs/cors"

	"github.com/portcullis-id/portcullis/store"
)

// originTTL is how long the set of allowed CORS origins is cached.
const originTTL = 30 * time.Second

// originCache answers which browser origins may call the token, userinfo, revocation
// and introspection endpoints: the origins of registered redirect URIs, nothing else.
// op's default reflects any origin with credentials (LIBRARIES.md §14).
type originCache struct {
	st  store.Clients
	now func() time.Time
	log *slog.Logger

	mu      sync.Mutex
	origins map[string]bool
	at      time.Time
}

func newOriginCache(st store.Clients, now func() time.Time, log *slog.Logger) *originCache {
	return &originCache{st: st, now: now, log: log}
}

func (o *originCache) corsOptions() *cors.Options {
	return &cors.Options{
		AllowOriginFunc: o.allowed,
		// No cookies cross-origin: browser clients send tokens in headers.
		AllowCredentials: false,
		AllowedMethods:   []string{http.MethodGet, http.MethodPost},
		AllowedHeaders:   []string{"Authorization", "Content-Type", "Accept"},
		MaxAge:           600,
	}
}

func (o *originCache) allowed(origin string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	if o.origins == nil || now.Sub(o.at) > originTTL || now.Before(o.at) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		clients, err := o.st.ListClients(ctx)
		if err != nil {
			o.log.Error("oidc cors: list clients", "err", err)
			return false
		}
		o.origins = make(map[string]bool)
		for _, c := range clients {
			for _, r := range c.RedirectURIs {
				if org := originOf(r); org != "" {
					o.origins[org] = true
				}
			}
		}
		o.at = now
	}
	return o.origins[origin]
}

// originOf returns scheme://host[:port] of an http(s) URL, or "".
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
