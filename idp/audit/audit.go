package audit

import (
	"context"
	"log/slog"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

// Outcomes.
const (
	Success = "success"
	Failure = "failure"
	Denied  = "denied"
)

// Event is what a caller records; the recorder fills time and sequence.
type Event struct {
	Actor     string
	Action    string // e.g. "login.password", "admin.user.create"
	Target    string
	Outcome   string
	Reason    string
	RequestID string
	SourceIP  string
	Details   map[string]string
}

// Recorder is the boundary every package records audit events through.
type Recorder interface {
	Record(ctx context.Context, e Event)
}

// Sink is the store part the recorder writes to.
type Sink interface {
	AppendAudit(ctx context.Context, e store.AuditEvent) (store.AuditEvent, error)
}

// StoreRecorder appends events to the store. A failed append is logged, never returned:
// an audit outage must not turn a sign-in into a 500, but it must be visible.
type StoreRecorder struct {
	Sink Sink
	Now  func() time.Time
	Log  *slog.Logger
}

// Record implements Recorder.
func (r *StoreRecorder) Record(ctx context.Context, e Event) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	if e.RequestID == "" {
		e.RequestID = RequestIDFrom(ctx)
	}
	_, err := r.Sink.AppendAudit(context.WithoutCancel(ctx), store.AuditEvent{
		Time: now().UTC(), Actor: e.Actor, Action: e.Action, Target: e.Target,
		Outcome: e.Outcome, Reason: e.Reason, RequestID: e.RequestID,
		SourceIP: e.SourceIP, Details: e.Details,
	})
	if err != nil && r.Log != nil {
		r.Log.Error("append audit event", "action", e.Action, "target", e.Target, "err", err)
	}
}

// Discard drops every event (tests that do not look at the trail).
type Discard struct{}

// Record implements Recorder.
func (Discard) Record(context.Context, Event) {}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the HTTP request id, so events can be correlated
// with logs.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request id stored by WithRequestID, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
