package store

import (
	"context"
	"log/slog"
	"time"
)

// Expirer is the part of a Store the sweeper needs.
type Expirer interface {
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}

// RunSweeper deletes expired records every interval until ctx is done.
func RunSweeper(ctx context.Context, s Expirer, interval time.Duration, now func() time.Time, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.DeleteExpired(ctx, now())
			if err != nil {
				log.Error("sweep expired records", "err", err)
				continue
			}
			if n > 0 {
				log.Debug("swept expired records", "count", n)
			}
		}
	}
}
