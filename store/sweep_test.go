package store_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

type countingExpirer struct{ calls atomic.Int32 }

func (c *countingExpirer) DeleteExpired(context.Context, time.Time) (int, error) {
	c.calls.Add(1)
	return 1, nil
}

func TestRunSweeperSweepsUntilCancelled(t *testing.T) {
	t.Parallel()
	var e countingExpirer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		store.RunSweeper(ctx, &e, time.Millisecond, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for e.calls.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("sweeper did not run")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("sweeper did not stop on cancel")
	}
}
