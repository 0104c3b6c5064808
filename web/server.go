package web

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Mounter is a feature group that registers its own routes.
type Mounter interface {
	Mount(mux *http.ServeMux)
}

// Pinger reports readiness of a dependency (the store).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps is what the server is assembled from.
type Deps struct {
	// Provider serves every OpenID route; it is mounted at "/" so its paths stay
	// exactly as discovery announces them.
	Provider http.Handler
	// Groups mount their own routes (login UI, admin API).
	Groups  []Mounter
	Ready   Pinger
	Metrics *Metrics
	HTTPS   bool
	Log     *slog.Logger
}

// Handler builds the router wrapped in the common middleware.
func Handler(d Deps) http.Handler {
	mux := http.NewServeMux()
	for _, g := range d.Groups {
		g.Mount(mux)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain")
		if err := d.Ready.Ping(ctx); err != nil {
			d.Log.WarnContext(ctx, "readiness check failed", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("store unavailable\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", d.Metrics.Handler())
	mux.Handle("/", d.Provider)

	// Innermost first: a panic is turned into a 500 before it is logged and counted.
	var h http.Handler = mux
	h = recoverer(d.Log)(h)
	h = observe(d.Log, d.Metrics)(h)
	h = securityHeaders(d.HTTPS)(h)
	h = withRequestID(h)
	return h
}

// Serve runs h on ln until ctx is cancelled, then drains in-flight requests for up to
// grace before closing.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
