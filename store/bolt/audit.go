package bolt

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/portcullis-id/portcullis/store"
)

// AppendAudit stores e under the audit bucket's next sequence. The sequence is
// persisted only on commit, so a rolled-back or re-run batch reuses the number and
// committed events stay gap-free.
func (t *tx) AppendAudit(ctx context.Context, e store.AuditEvent) (store.AuditEvent, error) {
	if err := t.begin(ctx); err != nil {
		return store.AuditEvent{}, fmt.Errorf("append audit event %s: %w", e.Action, err)
	}
	audit := t.b(bAudit)
	audit.FillPercent = appendFill
	seq, err := audit.NextSequence()
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("append audit event %s: next sequence: %w", e.Action, err)
	}
	e.Seq = seq
	if e.Time.IsZero() {
		e.Time = t.clock()
	}
	e.Time = e.Time.UTC().Round(0)
	meta := t.b(bMeta)
	if err := e.Chain(meta.Get([]byte(metaAuditHead))); err != nil {
		return store.AuditEvent{}, fmt.Errorf("append audit event %s: %w", e.Action, err)
	}
	if err := putJSON(audit, seqKey(seq), e); err != nil {
		return store.AuditEvent{}, fmt.Errorf("append audit event %s: %w", e.Action, err)
	}
	// The head is the last hash, kept apart from the events so that pruning old
	// events never loses the link the next append needs.
	if err := meta.Put([]byte(metaAuditHead), e.Hash); err != nil {
		return store.AuditEvent{}, fmt.Errorf("append audit event %s: chain head: %w", e.Action, err)
	}
	return e, nil
}

// ListAudit returns up to limit events with Seq > after, in order; limit <= 0 means
// no limit.
func (t *tx) ListAudit(ctx context.Context, after uint64, limit int) ([]store.AuditEvent, error) {
	if err := t.check(ctx); err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	if after == ^uint64(0) {
		return nil, nil
	}
	var out []store.AuditEvent
	c := t.b(bAudit).Cursor()
	for k, v := c.Seek(seqKey(after + 1)); k != nil; k, v = c.Next() {
		if limit > 0 && len(out) >= limit {
			break
		}
		var e store.AuditEvent
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("list audit events: decode %x: %w", k, err)
		}
		out = append(out, e)
	}
	return out, nil
}
