package keys

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/portcullis-id/portcullis/idp/seal"
	"github.com/portcullis-id/portcullis/store"
)

// Defaults applied by New to zero Options fields.
const (
	DefaultAlgorithm        = RS256
	DefaultRotationPeriod   = 30 * 24 * time.Hour
	DefaultPublishAhead     = 48 * time.Hour
	DefaultMaxTokenLifetime = 24 * time.Hour
	DefaultRunInterval      = time.Minute
)

// ErrNoActiveKey is returned by Reload when the store holds no active key; the
// Manager keeps signing with the key it had, and the next Tick repairs the store.
var ErrNoActiveKey = errors.New("no active signing key in store")

// ErrOptions is returned by New for invalid Options.
var ErrOptions = errors.New("invalid signing key options")

// Options configure a Manager. Zero fields take the Default* values.
type Options struct {
	// Algorithm of newly generated keys: "RS256" (default), "ES256" or "EdDSA".
	// Changing it generates a next key with the new algorithm, which takes over as
	// soon as it has been published for PublishAhead, without waiting for
	// RotationPeriod.
	Algorithm string
	// RotationPeriod is how long an active key signs before the next one takes over.
	RotationPeriod time.Duration
	// PublishAhead is the minimum time a next key is in the JWKS before it signs, so
	// that relying parties with a cached JWKS know it. Must not exceed RotationPeriod.
	PublishAhead time.Duration
	// MaxTokenLifetime is the longest lifetime of anything signed. A retired key stays
	// in the JWKS this long after retirement (its NotAfter). When several instances
	// share a store, include the Run interval: another instance may keep signing with
	// a key for up to one interval after this one retired it.
	MaxTokenLifetime time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives key lifecycle events; nil discards them.
	Log *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.Algorithm == "" {
		o.Algorithm = DefaultAlgorithm
	}
	if o.RotationPeriod == 0 {
		o.RotationPeriod = DefaultRotationPeriod
	}
	if o.PublishAhead == 0 {
		o.PublishAhead = DefaultPublishAhead
	}
	if o.MaxTokenLifetime == 0 {
		o.MaxTokenLifetime = DefaultMaxTokenLifetime
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if !supported(o.Algorithm) {
		errs = append(errs, fmt.Errorf("%w: algorithm %q: use RS256, ES256 or EdDSA", ErrOptions, o.Algorithm))
	}
	if o.RotationPeriod < 0 || o.PublishAhead < 0 || o.MaxTokenLifetime < 0 {
		errs = append(errs, fmt.Errorf("%w: durations must be positive", ErrOptions))
	}
	if o.PublishAhead > o.RotationPeriod {
		errs = append(errs, fmt.Errorf("%w: publish ahead (%s) exceeds the rotation period (%s); a next key would not be ready when rotation is due",
			ErrOptions, o.PublishAhead, o.RotationPeriod))
	}
	return o, errors.Join(errs...)
}

// Key is a signing key held in memory.
type Key struct {
	ID        string
	Algorithm string
	// Private is the signing key (*rsa.PrivateKey, *ecdsa.PrivateKey or
	// ed25519.PrivateKey, all of which go-jose accepts); nil in PublicKeys.
	Private crypto.Signer
	Public  crypto.PublicKey
}

// LogValue keeps private keys out of logs.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kid", k.ID), slog.String("alg", k.Algorithm))
}

// snapshot is immutable once published.
type snapshot struct {
	current     Key
	published   []Key // public halves only, active key first
	jwks        []byte
	algs        []string
	fingerprint string // identifies the published set; JWKS is re-rendered only when it changes
}

// material is an unsealed key, cached by kid. It is reused only while the record's
// algorithm, sealed and public bytes are unchanged; any change is opened and checked
// again.
type material struct {
	alg    string
	sealed []byte
	public []byte
	signer crypto.Signer
}

func (mat material) matches(r store.SigningKey) bool {
	return mat.alg == r.Algorithm && bytes.Equal(mat.sealed, r.Private) && bytes.Equal(mat.public, r.Public)
}

// entry is a stored record with its unsealed key.
type entry struct {
	rec    store.SigningKey
	signer crypto.Signer
}

// Manager keeps the signing keys. Current, PublicKeys, JWKS and Algorithms are
// lock-free; Tick, Rotate and Reload serialise among themselves.
type Manager struct {
	st     store.SigningKeys
	sealer *seal.Sealer
	opts   Options
	log    *slog.Logger

	mu     sync.Mutex          // held by Tick, Rotate, Reload
	parsed map[string]material // guarded by mu
	snap   atomic.Pointer[snapshot]
}

// New loads and unseals every stored key once, creates the active and next keys when
// absent (first start), applies the schedule once, and returns a Manager ready to sign.
// A store written with another seal key fails here, naming the key that did not open.
func New(ctx context.Context, st store.SigningKeys, sealer *seal.Sealer, opts Options) (*Manager, error) {
	if st == nil || sealer == nil {
		return nil, errors.New("new signing key manager: store and sealer are required")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("new signing key manager: %w", err)
	}
	m := &Manager{st: st, sealer: sealer, opts: opts, log: opts.Log, parsed: map[string]material{}}
	if err := m.Tick(ctx); err != nil {
		return nil, fmt.Errorf("new signing key manager: %w", err)
	}
	return m, nil
}

// Current returns the active signing key. It is on the token hot path: one atomic load,
// no lock, no allocation.
func (m *Manager) Current() Key { return m.snap.Load().current }

// PublicKeys returns the keys the JWKS publishes, public halves only: the active key
// first (for clients that take the first key when a token has no kid), then the next
// key, then retired keys still within NotAfter.
func (m *Manager) PublicKeys() []Key { return slices.Clone(m.snap.Load().published) }

// JWKS returns the pre-rendered JSON Web Key Set (RFC 7517 §5) of PublicKeys. The
// slice is shared: callers must not modify it.
func (m *Manager) JWKS() []byte { return m.snap.Load().jwks }

// Algorithms returns the distinct algorithms of the published keys, the active key's
// first, for discovery's id_token_signing_alg_values_supported.
func (m *Manager) Algorithms() []string { return slices.Clone(m.snap.Load().algs) }

// Tick re-reads the keys from the store (so it also picks up another instance's
// rotation) and applies the schedule:
//   - ensure one active key and one next key of Options.Algorithm;
//   - promote the next key when the active key has signed for RotationPeriod (or has
//     another algorithm than Options.Algorithm) and the next key has been published for
//     PublishAhead; the old key is retired with NotAfter = now + MaxTokenLifetime and a
//     new next key is created;
//   - delete retired keys past NotAfter.
func (m *Manager) Tick(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reconcile(ctx, false)
}

// Rotate forces a rotation now (admin command): the next key (created first if there
// is none) becomes active at once and the current key is retired as in Tick.
//
// A forced rotation skips the PublishAhead wait: relying parties that cached the JWKS
// before the next key was published will not know the new kid until they refetch.
// Most refetch on an unknown kid; use it after a suspected key compromise, where that
// is the lesser harm.
func (m *Manager) Rotate(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reconcile(ctx, true)
}

// Reload re-reads the keys from the store without changing them, e.g. after another
// instance rotated. When the store holds no active key it returns ErrNoActiveKey and
// keeps the current snapshot.
func (m *Manager) Reload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	entries, err := m.load(ctx)
	if err != nil {
		return fmt.Errorf("reload signing keys: %w", err)
	}
	v := classify(entries, "")
	if len(v.active) == 0 {
		return fmt.Errorf("reload signing keys: %w", ErrNoActiveKey)
	}
	if err := m.publish(v, m.opts.Now()); err != nil {
		return fmt.Errorf("reload signing keys: %w", err)
	}
	return nil
}

// Run calls Tick every interval (DefaultRunInterval when every <= 0) until ctx is
// done. Tick re-reads the store, so Run also reloads keys rotated by another instance.
// Errors are logged; the last good snapshot keeps serving.
func (m *Manager) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = DefaultRunInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Tick(ctx); err != nil && ctx.Err() == nil {
				m.log.Error("signing key schedule", "err", err)
			}
		}
	}
}

// load lists the stored keys and unseals the ones not already in memory. A key is
// unsealed again only when its sealed bytes changed. Caller holds mu.
func (m *Manager) load(ctx context.Context) ([]entry, error) {
	recs, err := m.st.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	parsed := make(map[string]material, len(recs))
	entries := make([]entry, 0, len(recs))
	for _, r := range recs {
		switch r.State {
		case store.KeyNext, store.KeyActive, store.KeyRetired:
		default:
			return nil, fmt.Errorf("signing key %s: unknown state %q", r.ID, r.State)
		}
		mat, ok := m.parsed[r.ID]
		if !ok || !mat.matches(r) {
			signer, err := openPrivate(m.sealer, r.ID, r.Algorithm, r.Private, r.Public)
			if err != nil {
				return nil, err
			}
			mat = material{alg: r.Algorithm, sealed: r.Private, public: r.Public, signer: signer}
		}
		parsed[r.ID] = mat
		entries = append(entries, entry{rec: r, signer: mat.signer})
	}
	m.parsed = parsed
	return entries, nil
}

// publish builds and stores a new snapshot from v. v must hold an active key.
func (m *Manager) publish(v view, now time.Time) error {
	cur := v.active[0]
	var pub []entry
	pub = append(pub, v.active...) // older actives are retired in all but name
	pub = append(pub, v.next...)
	for _, e := range v.retired {
		if e.rec.NotAfter.IsZero() || now.Before(e.rec.NotAfter) {
			pub = append(pub, e)
		}
	}
	var fp strings.Builder
	for _, e := range pub {
		fp.WriteString(e.rec.ID + "/" + e.rec.Algorithm + ";")
	}
	next := &snapshot{
		current: Key{
			ID: cur.rec.ID, Algorithm: cur.rec.Algorithm,
			Private: cur.signer, Public: cur.signer.Public(),
		},
		fingerprint: fp.String(),
	}
	if old := m.snap.Load(); old != nil && old.fingerprint == next.fingerprint {
		next.published, next.jwks, next.algs = old.published, old.jwks, old.algs
	} else {
		next.published = make([]Key, 0, len(pub))
		for _, e := range pub {
			next.published = append(next.published, Key{ID: e.rec.ID, Algorithm: e.rec.Algorithm, Public: e.signer.Public()})
		}
		jwks, err := renderJWKS(next.published)
		if err != nil {
			return err
		}
		next.jwks = jwks
		next.algs = algorithms(next.published)
	}
	m.snap.Store(next)
	return nil
}

// renderJWKS marshals the public keys. Only public keys go in, so no private member
// ("d", "p", "q", ...) can come out.
func renderJWKS(pub []Key) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(pub))}
	for _, k := range pub {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Public, KeyID: k.ID, Algorithm: k.Algorithm, Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("render JWKS: %w", err)
	}
	return b, nil
}

func algorithms(pub []Key) []string {
	var rest []string
	for _, k := range pub[1:] {
		if k.Algorithm != pub[0].Algorithm && !slices.Contains(rest, k.Algorithm) {
			rest = append(rest, k.Algorithm)
		}
	}
	slices.Sort(rest)
	return append([]string{pub[0].Algorithm}, rest...)
}
