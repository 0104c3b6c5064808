package keys

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

// maxSteps bounds one reconcile. A full rotation takes four writes (create next,
// promote, retire, create next); the rest is headroom for repairs and for losing
// compare-and-swap races to other instances.
const maxSteps = 16

// errRaced marks a write that lost to a concurrent change (stale Version, record gone,
// kid taken). reconcile re-reads the store and plans again.
var errRaced = errors.New("signing keys changed concurrently")

// view is the stored key set, sorted for the schedule.
type view struct {
	active  []entry // newest activation first: active[0] signs
	next    []entry // oldest first: the longest published is promoted first
	retired []entry // newest retirement first
}

// classify sorts entries by state. preferActive, when it names an active key, is put
// first: a key this Manager has just promoted signs even if the clock did not move
// between the two activations (coarse or frozen clocks).
func classify(entries []entry, preferActive string) view {
	var v view
	for _, e := range entries {
		switch e.rec.State {
		case store.KeyActive:
			v.active = append(v.active, e)
		case store.KeyNext:
			v.next = append(v.next, e)
		case store.KeyRetired:
			v.retired = append(v.retired, e)
		}
	}
	slices.SortFunc(v.active, func(a, b entry) int {
		return cmp.Or(
			cmp.Compare(boolRank(b.rec.ID == preferActive), boolRank(a.rec.ID == preferActive)),
			activatedAt(b.rec).Compare(activatedAt(a.rec)),
			b.rec.CreatedAt.Compare(a.rec.CreatedAt),
			cmp.Compare(b.rec.ID, a.rec.ID),
		)
	})
	slices.SortFunc(v.next, func(a, b entry) int {
		return cmp.Or(a.rec.CreatedAt.Compare(b.rec.CreatedAt), cmp.Compare(a.rec.ID, b.rec.ID))
	})
	slices.SortFunc(v.retired, func(a, b entry) int {
		return cmp.Or(b.rec.RetiredAt.Compare(a.rec.RetiredAt), cmp.Compare(b.rec.ID, a.rec.ID))
	})
	return v
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func activatedAt(r store.SigningKey) time.Time {
	if r.ActivatedAt.IsZero() {
		return r.CreatedAt
	}
	return r.ActivatedAt
}

// reconcile drives the stored key set toward the schedule one write at a time,
// re-reading the store after each write, then publishes a snapshot. Caller holds mu.
//
// Crash safety comes from the order of the steps, which is also their priority:
//
//  1. no active key: promote a next key (or create an active one on first start);
//  2. two or more active keys: retire all but the most recently activated;
//  3. retired key without NotAfter: set it;
//  4. next keys of another algorithm, or more than one: retire the extras (they never
//     signed, so they may leave the JWKS at once);
//  5. no next key of Options.Algorithm: create one;
//  6. rotation due (or forced): promote the next key;
//  7. retired keys past NotAfter: delete.
//
// A rotation is therefore "promote next" (6), then "retire old" (2), then "create next"
// (5). The new key becomes active before the old one stops being active, so a crash
// between the writes leaves two active keys, never zero: on the next start the newer
// one signs, the older one is published as if retired, and step 2 finishes the job. A
// crash after the retirement leaves no next key, which step 5 creates. Deletion only
// ever removes retired keys, which no state returns from, so an unconditional delete
// cannot race with a promotion on another instance; every other write is a
// compare-and-swap on Version.
func (m *Manager) reconcile(ctx context.Context, force bool) error {
	var promoted string // kid promoted by this reconcile
	for range maxSteps {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := m.load(ctx)
		if err != nil {
			return err
		}
		v := classify(entries, promoted)
		now := m.opts.Now()
		done, err := m.step(ctx, v, now, &force, &promoted)
		if errors.Is(err, errRaced) {
			m.log.Info("signing keys changed by another writer; re-reading", "err", err)
			continue
		}
		if err != nil {
			return err
		}
		if done {
			return m.publish(v, now)
		}
	}
	return fmt.Errorf("signing keys did not settle after %d writes", maxSteps)
}

// step performs the first write the schedule needs and reports done=true when none is.
func (m *Manager) step(ctx context.Context, v view, now time.Time, force *bool, promoted *string) (done bool, err error) {
	o := m.opts

	// 1. Never run without a signing key.
	if len(v.active) == 0 {
		if len(v.next) > 0 {
			// A published key is better than a fresh one: relying parties may know it.
			nx := v.next[0]
			if i := slices.IndexFunc(v.next, func(e entry) bool { return e.rec.Algorithm == o.Algorithm }); i >= 0 {
				nx = v.next[i]
			}
			m.log.Warn("no active signing key; promoting the next key", "kid", nx.rec.ID, "alg", nx.rec.Algorithm)
			return false, m.promoteOnce(ctx, nx, now, force, promoted)
		}
		return false, m.create(ctx, store.KeyActive, now)
	}

	// 2. Exactly one active key: the most recently activated signs, the others retire.
	if len(v.active) > 1 {
		return false, m.retire(ctx, v.active[len(v.active)-1], now, now.Add(o.MaxTokenLifetime))
	}

	// 3. A retired key must say when it may go.
	for _, e := range v.retired {
		if e.rec.NotAfter.IsZero() {
			return false, m.retire(ctx, e, now, now.Add(o.MaxTokenLifetime))
		}
	}

	// 4. Keep one next key of the configured algorithm: the one published longest.
	var nx *entry
	for i := range v.next {
		e := v.next[i]
		if e.rec.Algorithm == o.Algorithm && nx == nil {
			nx = &v.next[i]
			continue
		}
		// Never signed (it is still "next" at this Version), so it may leave the JWKS now.
		return false, m.retire(ctx, e, now, now)
	}

	// 5. Publish the successor ahead of time.
	if nx == nil {
		return false, m.create(ctx, store.KeyNext, now)
	}

	// 6. Rotate when due. An algorithm change does not wait for RotationPeriod, only
	// for PublishAhead.
	act := v.active[0]
	due := now.Sub(activatedAt(act.rec)) >= o.RotationPeriod || act.rec.Algorithm != o.Algorithm
	published := now.Sub(nx.rec.CreatedAt) >= o.PublishAhead
	if *force || (due && published) {
		return false, m.promoteOnce(ctx, *nx, now, force, promoted)
	}

	// 7. Forget retired keys every token of which has expired.
	for _, e := range v.retired {
		if !now.Before(e.rec.NotAfter) {
			return false, m.delete(ctx, e)
		}
	}
	return true, nil
}

func (m *Manager) create(ctx context.Context, state string, now time.Time) error {
	alg := m.opts.Algorithm
	kid, err := newKeyID()
	if err != nil {
		return err
	}
	signer, err := generate(alg)
	if err != nil {
		return err
	}
	sealed, public, err := sealPrivate(m.sealer, kid, signer)
	if err != nil {
		return err
	}
	rec := store.SigningKey{
		ID: kid, Algorithm: alg, Private: sealed, Public: public, State: state,
		// CreatedAt of a next key is when it was first published.
		Meta: store.Meta{CreatedAt: now, UpdatedAt: now},
	}
	if state == store.KeyActive {
		rec.ActivatedAt = now
	}
	if _, err := m.st.CreateSigningKey(ctx, rec); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return fmt.Errorf("create signing key %s: %w", kid, errRaced)
		}
		return fmt.Errorf("create %s signing key %s: %w", state, kid, err)
	}
	// Keep the generated key so load does not unseal what it just sealed.
	m.parsed[kid] = material{alg: alg, sealed: sealed, public: public, signer: signer}
	m.log.Info("signing key created", "kid", kid, "alg", alg, "state", state)
	return nil
}

// promoteOnce promotes e and, only when that succeeded, marks a forced rotation as
// done: a promotion lost to another writer is re-planned, still forced.
func (m *Manager) promoteOnce(ctx context.Context, e entry, now time.Time, force *bool, promoted *string) error {
	if err := m.promote(ctx, e, now); err != nil {
		return err
	}
	*force = false
	*promoted = e.rec.ID
	return nil
}

func (m *Manager) promote(ctx context.Context, e entry, now time.Time) error {
	r := e.rec
	r.State = store.KeyActive
	r.ActivatedAt = now
	r.UpdatedAt = now
	if err := m.update(ctx, r); err != nil {
		return fmt.Errorf("promote signing key %s: %w", r.ID, err)
	}
	m.log.Info("signing key promoted", "kid", r.ID, "alg", r.Algorithm)
	return nil
}

func (m *Manager) retire(ctx context.Context, e entry, now, notAfter time.Time) error {
	r := e.rec
	r.State = store.KeyRetired
	if r.RetiredAt.IsZero() {
		r.RetiredAt = now
	}
	r.NotAfter = notAfter
	r.UpdatedAt = now
	if err := m.update(ctx, r); err != nil {
		return fmt.Errorf("retire signing key %s: %w", r.ID, err)
	}
	m.log.Info("signing key retired", "kid", r.ID, "alg", r.Algorithm, "not_after", notAfter)
	return nil
}

func (m *Manager) delete(ctx context.Context, e entry) error {
	err := m.st.DeleteSigningKey(ctx, e.rec.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete signing key %s: %w", e.rec.ID, err)
	}
	delete(m.parsed, e.rec.ID)
	m.log.Info("signing key deleted", "kid", e.rec.ID, "alg", e.rec.Algorithm)
	return nil
}

// update writes r if its Version is still the stored one.
func (m *Manager) update(ctx context.Context, r store.SigningKey) error {
	_, err := m.st.UpdateSigningKey(ctx, r)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %w", errRaced, err)
	}
	return err
}
