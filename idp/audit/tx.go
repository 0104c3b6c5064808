package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

// TxRecorder is a Recorder that can also write an event inside the caller's store
// transaction, so that the event commits together with the change it describes or
// not at all: a credential is never issued without its record in the trail.
type TxRecorder interface {
	Recorder
	RecordTx(ctx context.Context, tx Sink, e Event) error
}

var _ TxRecorder = (*StoreRecorder)(nil)

// RecordTx appends e through tx, the caller's open transaction. Unlike Record it
// returns the error: the caller must roll back what the event describes.
func (r *StoreRecorder) RecordTx(ctx context.Context, tx Sink, e Event) error {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	if e.RequestID == "" {
		e.RequestID = RequestIDFrom(ctx)
	}
	if _, err := tx.AppendAudit(ctx, store.AuditEvent{
		Time: now().UTC(), Actor: e.Actor, Action: e.Action, Target: e.Target,
		Outcome: e.Outcome, Reason: e.Reason, RequestID: e.RequestID,
		SourceIP: e.SourceIP, Details: e.Details,
	}); err != nil {
		return fmt.Errorf("record %s in transaction: %w", e.Action, err)
	}
	return nil
}
