package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/portcullis-id/portcullis/idp/seal"
	"github.com/portcullis-id/portcullis/store"
)

const (
	rotation  = 10 * time.Hour
	ahead     = 2 * time.Hour
	maxTokLif = time.Hour
)

type fixture struct {
	st     *memKeys
	clk    *clock
	sealer *seal.Sealer
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	clk := newClock()
	return &fixture{st: newMemKeys(clk.Now), clk: clk, sealer: newSealer(t, 1)}
}

func newSealer(t testing.TB, b byte) *seal.Sealer {
	t.Helper()
	s, err := seal.New(bytes.Repeat([]byte{b}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) opts(alg string) Options {
	return Options{
		Algorithm: alg, RotationPeriod: rotation, PublishAhead: ahead,
		MaxTokenLifetime: maxTokLif, Now: f.clk.Now,
	}
}

func (f *fixture) manager(t testing.TB, alg string) *Manager {
	t.Helper()
	m, err := New(context.Background(), f.st, f.sealer, f.opts(alg))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func tick(t testing.TB, m *Manager) {
	t.Helper()
	if err := m.Tick(context.Background()); err != nil {
		t.Fatalf("Tick: %v", err)
	}
}

// jwksKids parses JWKS() back with go-jose and returns the kids in order.
func jwksKids(t testing.TB, m *Manager) []string {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(m.JWKS(), &set); err != nil {
		t.Fatalf("parse JWKS: %v", err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

func onlyOne(t testing.TB, ids []string, what string) string {
	t.Helper()
	if len(ids) != 1 {
		t.Fatalf("%s keys = %v, want exactly one", what, ids)
	}
	return ids[0]
}

func TestFirstStartCreatesActiveAndNextKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.manager(t, ES256)
	states := f.st.byState()
	active := onlyOne(t, states[store.KeyActive], "active")
	next := onlyOne(t, states[store.KeyNext], "next")
	if len(states[store.KeyRetired]) != 0 {
		t.Errorf("retired keys on first start: %v", states[store.KeyRetired])
	}
	cur := m.Current()
	if cur.ID != active || cur.Algorithm != ES256 || cur.Private == nil || cur.Public == nil {
		t.Errorf("Current = %+v, want active key %s with private and public parts", cur.LogValue(), active)
	}
	if got := jwksKids(t, m); !slices.Equal(got, []string{active, next}) {
		t.Errorf("JWKS kids = %v, want [active next] = %v", got, []string{active, next})
	}
	if got := m.Algorithms(); !slices.Equal(got, []string{ES256}) {
		t.Errorf("Algorithms = %v", got)
	}
	for _, k := range m.PublicKeys() {
		if k.Private != nil {
			t.Errorf("PublicKeys returned private key for %s", k.ID)
		}
	}
	if len(cur.ID) != 16 {
		t.Errorf("kid %q: want 16 base64url characters (12 random bytes)", cur.ID)
	}
}

func TestRestartLoadsTheSameKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m1 := f.manager(t, EdDSA)
	f.clk.Advance(time.Minute)
	m2 := f.manager(t, EdDSA)
	if m1.Current().ID != m2.Current().ID {
		t.Errorf("restart signs with %s, want %s", m2.Current().ID, m1.Current().ID)
	}
	if !m1.Current().Public.(interface{ Equal(crypto.PublicKey) bool }).Equal(m2.Current().Public) {
		t.Error("restart loaded a different key under the same kid")
	}
	if !bytes.Equal(m1.JWKS(), m2.JWKS()) {
		t.Errorf("JWKS differs after restart:\n%s\n%s", m1.JWKS(), m2.JWKS())
	}
	if n := len(f.st.byState()[store.KeyNext]); n != 1 {
		t.Errorf("next keys after restart = %d, want 1", n)
	}
}

func TestNextKeyIsPublishedBeforeItSignsAndPromotedAfterRotationPeriod(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.manager(t, ES256)
	first := m.Current().ID
	next := onlyOne(t, f.st.byState()[store.KeyNext], "next")
	if !slices.Contains(jwksKids(t, m), next) {
		t.Fatal("next key not in JWKS")
	}

	f.clk.Advance(rotation - time.Second)
	tick(t, m)
	if m.Current().ID != first {
		t.Fatalf("rotated before RotationPeriod: current %s", m.Current().ID)
	}

	f.clk.Advance(time.Second)
	tick(t, m)
	if m.Current().ID != next {
		t.Fatalf("after RotationPeriod current = %s, want the next key %s", m.Current().ID, next)
	}
	states := f.st.byState()
	if got := onlyOne(t, states[store.KeyActive], "active"); got != next {
		t.Errorf("stored active = %s, want %s", got, next)
	}
	if got := onlyOne(t, states[store.KeyRetired], "retired"); got != first {
		t.Errorf("stored retired = %s, want %s", got, first)
	}
	newNext := onlyOne(t, states[store.KeyNext], "next")
	if got := jwksKids(t, m); !slices.Equal(got, []string{next, newNext, first}) {
		t.Errorf("JWKS kids = %v, want [active next retired]", got)
	}
	old, _ := f.st.get(first)
	if want := f.clk.Now().Add(maxTokLif); !old.NotAfter.Equal(want) {
		t.Errorf("retired NotAfter = %v, want now+MaxTokenLifetime = %v", old.NotAfter, want)
	}
}

func TestRotationWaitsUntilNextKeyWasPublishedAhead(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.manager(t, ES256)
	first := m.Current().ID
	// The next key vanished (e.g. an operator deleted it) just as rotation is due.
	f.clk.Advance(rotation)
	f.st.remove(onlyOne(t, f.st.byState()[store.KeyNext], "next"))
	tick(t, m)
	fresh := onlyOne(t, f.st.byState()[store.KeyNext], "next")
	if m.Current().ID != first {
		t.Fatal("promoted a key that was never published")
	}
	if !slices.Contains(jwksKids(t, m), fresh) {
		t.Fatal("fresh next key not published")
	}
	f.clk.Advance(ahead - time.Second)
	tick(t, m)
	if m.Current().ID != first {
		t.Fatal("promoted before PublishAhead")
	}
	f.clk.Advance(time.Second)
	tick(t, m)
	if m.Current().ID != fresh {
		t.Fatalf("current = %s, want %s once published for PublishAhead", m.Current().ID, fresh)
	}
}

func TestRetiredKeyStaysInJWKSUntilNotAfter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.manager(t, ES256)
	first := m.Current().ID
	f.clk.Advance(rotation)
	tick(t, m)
	if m.Current().ID == first {
		t.Fatal("no rotation")
	}
	f.clk.Advance(maxTokLif - time.Second)
	tick(t, m)
	if !slices.Contains(jwksKids(t, m), first) {
		t.Fatal("retired key left the JWKS before NotAfter")
	}
	f.clk.Advance(time.Second)
	tick(t, m)
	if slices.Contains(jwksKids(t, m), first) {
		t.Fatal("retired key still in JWKS after NotAfter")
	}
	if _, ok := f.st.get(first); ok {
		t.Error("retired key past NotAfter not deleted from the store")
	}
	if len(m.PublicKeys()) != 2 {
		t.Errorf("PublicKeys = %d keys, want active and next", len(m.PublicKeys()))
	}
}

func TestRotatePromotesNextAtOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.manager(t, EdDSA)
	first := m.Current().ID
	next := onlyOne(t, f.st.byState()[store.KeyNext], "next")
	if err := m.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if m.Current().ID != next {
		t.Fatalf("after Rotate current = %s, want %s", m.Current().ID, next)
	}
	old, _ := f.st.get(first)
	if old.State != store.KeyRetired || !old.NotAfter.Equal(f.clk.Now().Add(maxTokLif)) {
		t.Errorf("old key state=%s NotAfter=%v", old.State, old.NotAfter)
	}
	newNext := onlyOne(t, f.st.byState()[store.KeyNext], "next")
	if got := jwksKids(t, m); !slices.Equal(got, []string{next, newNext, first}) {
		t.Errorf("JWKS kids = %v", got)
	}
	// The schedule restarts from the forced rotation.
	f.clk.Advance(rotation - time.Second)
	tick(t, m)
	if m.Current().ID != next {
		t.Error("scheduled rotation came early after a forced one")
	}
}

func TestRotateCreatesNextKeyWhenMissing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.manager(t, ES256)
	first := m.Current().ID
	oldNext := onlyOne(t, f.st.byState()[store.KeyNext], "next")
	f.st.remove(oldNext)
	if err := m.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	cur := m.Current().ID
	if cur == first || cur == oldNext {
		t.Fatalf("current = %s, want a new key", cur)
	}
	states := f.st.byState()
	if onlyOne(t, states[store.KeyRetired], "retired") != first {
		t.Error("first key not retired")
	}
	onlyOne(t, states[store.KeyNext], "next")
}

func TestTwoActiveKeysAfterCrashNewerSigns(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.manager(t, ES256)
	first := m.Current().ID
	// Crash between "promote next" and "retire old": two active keys in the store.
	f.clk.Advance(rotation)
	rec, _ := f.st.get(onlyOne(t, f.st.byState()[store.KeyNext], "next"))
	rec.State, rec.ActivatedAt = store.KeyActive, f.clk.Now()
	f.st.put(rec)

	f.clk.Advance(time.Minute)
	m2 := f.manager(t, ES256)
	if m2.Current().ID != rec.ID {
		t.Fatalf("with two active keys current = %s, want the newer %s", m2.Current().ID, rec.ID)
	}
	states := f.st.byState()
	onlyOne(t, states[store.KeyActive], "active")
	if onlyOne(t, states[store.KeyRetired], "retired") != first {
		t.Error("older active key not retired")
	}
	onlyOne(t, states[store.KeyNext], "next")
	if !slices.Contains(jwksKids(t, m2), first) {
		t.Error("older key dropped from JWKS; tokens it signed would fail")
	}

	// Reload (no writes) on a store with two actives also picks the newer one.
	f2 := newFixture(t)
	a := f2.manager(t, ES256)
	nx, _ := f2.st.get(onlyOne(t, f2.st.byState()[store.KeyNext], "next"))
	f2.clk.Advance(time.Minute)
	nx.State, nx.ActivatedAt = store.KeyActive, f2.clk.Now()
	f2.st.put(nx)
	if err := a.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a.Current().ID != nx.ID {
		t.Errorf("Reload current = %s, want %s", a.Current().ID, nx.ID)
	}
}

func TestNoActiveKeyPromotesPublishedNextKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.manager(t, ES256)
	next := onlyOne(t, f.st.byState()[store.KeyNext], "next")
	f.st.remove(m.Current().ID)
	if err := m.Reload(context.Background()); !errors.Is(err, ErrNoActiveKey) {
		t.Fatalf("Reload err = %v, want ErrNoActiveKey", err)
	}
	if m.Current().ID == "" {
		t.Fatal("Reload dropped the current key")
	}
	tick(t, m)
	if m.Current().ID != next {
		t.Errorf("current = %s, want the published next key %s", m.Current().ID, next)
	}
}

func TestAlgorithmChangeWaitsOnlyForPublishAhead(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.manager(t, ES256)
	first := m.Current().ID
	oldNext := onlyOne(t, f.st.byState()[store.KeyNext], "next")

	f.clk.Advance(time.Minute)
	m2 := f.manager(t, EdDSA)
	if m2.Current().ID != first {
		t.Fatal("algorithm change rotated without publishing ahead")
	}
	newNext := onlyOne(t, f.st.byState()[store.KeyNext], "next")
	if rec, _ := f.st.get(newNext); rec.Algorithm != EdDSA {
		t.Fatalf("next key algorithm = %s, want EdDSA", rec.Algorithm)
	}
	if _, ok := f.st.get(oldNext); ok {
		t.Error("stale ES256 next key kept")
	}
	if got := m2.Algorithms(); !slices.Equal(got, []string{ES256, EdDSA}) {
		t.Errorf("Algorithms = %v, want [ES256 EdDSA]", got)
	}
	f.clk.Advance(ahead)
	tick(t, m2)
	if cur := m2.Current(); cur.ID != newNext || cur.Algorithm != EdDSA {
		t.Fatalf("current = %s/%s, want %s/EdDSA", cur.ID, cur.Algorithm, newNext)
	}
	if rec, _ := f.st.get(onlyOne(t, f.st.byState()[store.KeyNext], "next")); rec.Algorithm != EdDSA {
		t.Error("new next key has the old algorithm")
	}
}

func TestJWKSHoldsNoPrivateMaterial(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{ES256, EdDSA} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			m := f.manager(t, alg)
			assertPublicJWKS(t, m)
		})
	}
}

func assertPublicJWKS(t *testing.T, m *Manager) {
	t.Helper()
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(m.JWKS(), &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Keys) == 0 {
		t.Fatal("empty JWKS")
	}
	for _, k := range raw.Keys {
		// RFC 7518 §6.2.2 and §6.3.2, RFC 8037 §2: private members.
		for _, member := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
			if _, ok := k[member]; ok {
				t.Errorf("JWKS key %v has private member %q", k["kid"], member)
			}
		}
		if k["use"] != "sig" || k["kid"] == "" || k["alg"] == "" {
			t.Errorf("JWKS key lacks use/kid/alg: %v", k)
		}
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(m.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() || !k.Valid() {
			t.Errorf("JWKS key %s: public=%v valid=%v", k.KeyID, k.IsPublic(), k.Valid())
		}
	}
}

func TestStoredPrivateKeyIsSealed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.manager(t, ES256)
	cur := m.Current()
	der, err := x509.MarshalPKCS8PrivateKey(cur.Private)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := f.st.get(cur.ID)
	if bytes.Contains(rec.Private, der) || bytes.Contains(rec.Private, der[len(der)-32:]) {
		t.Fatal("store holds the private key in clear")
	}
	pub, err := x509.MarshalPKIXPublicKey(cur.Public)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.Public, pub) {
		t.Error("stored public key is not the PKIX DER of the current key")
	}
	// The sealed bytes are bound to their record.
	if _, err := f.sealer.Open(rec.Private, []byte("signing_keys/other")); !errors.Is(err, seal.ErrUnseal) {
		t.Error("sealed key opens under another record's additional data")
	}
}

func TestWrongSealKeyOnRestartFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.manager(t, EdDSA)
	_, err := New(context.Background(), f.st, newSealer(t, 2), f.opts(EdDSA))
	if !errors.Is(err, seal.ErrUnseal) {
		t.Fatalf("New with another seal key: err = %v, want ErrUnseal", err)
	}
	if !strings.Contains(err.Error(), "seal key") {
		t.Errorf("error %q does not point at the seal key", err)
	}
	if !strings.Contains(err.Error(), m.Current().ID) && !strings.Contains(err.Error(), onlyOne(t, f.st.byState()[store.KeyNext], "next")) {
		t.Errorf("error %q does not name the key", err)
	}
}

func TestTamperedRecordsAreRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tamper func(cur, next *store.SigningKey)
		want   error
	}{
		{"algorithm rewritten", func(cur, _ *store.SigningKey) { cur.Algorithm = ES256 }, ErrKeyMismatch},
		{"unknown algorithm", func(cur, _ *store.SigningKey) { cur.Algorithm = "HS256" }, ErrUnsupportedAlgorithm},
		{"public key swapped", func(cur, next *store.SigningKey) { cur.Public = next.Public }, ErrKeyMismatch},
		{"sealed key moved between records", func(cur, next *store.SigningKey) { cur.Private = next.Private }, seal.ErrUnseal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			m := f.manager(t, EdDSA)
			cur, _ := f.st.get(m.Current().ID)
			next, _ := f.st.get(onlyOne(t, f.st.byState()[store.KeyNext], "next"))
			tt.tamper(&cur, &next)
			f.st.put(cur)
			if _, err := New(context.Background(), f.st, f.sealer, f.opts(EdDSA)); !errors.Is(err, tt.want) {
				t.Errorf("New err = %v, want %v", err, tt.want)
			}
			// A running manager refuses the reload and keeps its keys.
			if err := m.Reload(context.Background()); !errors.Is(err, tt.want) {
				t.Errorf("Reload err = %v, want %v", err, tt.want)
			}
			if m.Current().ID != cur.ID {
				t.Error("failed reload changed the current key")
			}
		})
	}
}

func TestEachAlgorithmSignsAJWSThatVerifiesAgainstJWKS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opt, alg string
	}{
		{"", RS256}, // the default
		{ES256, ES256},
		{EdDSA, EdDSA},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			m := f.manager(t, tt.opt)
			cur := m.Current()
			if cur.Algorithm != tt.alg {
				t.Fatalf("algorithm = %s, want %s", cur.Algorithm, tt.alg)
			}
			token := signToken(t, cur, []byte(`{"sub":"alice"}`))

			jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tt.alg)})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			kid := jws.Signatures[0].Header.KeyID
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(m.JWKS(), &set); err != nil {
				t.Fatal(err)
			}
			keys := set.Key(kid)
			if len(keys) != 1 || keys[0].Algorithm != tt.alg {
				t.Fatalf("JWKS has %d keys for kid %q", len(keys), kid)
			}
			payload, err := jws.Verify(keys[0])
			if err != nil {
				t.Fatalf("verify against JWKS key: %v", err)
			}
			if string(payload) != `{"sub":"alice"}` {
				t.Errorf("payload = %s", payload)
			}
			// The next key must not verify it.
			for _, k := range set.Keys {
				if k.KeyID != kid {
					if _, err := jws.Verify(k); err == nil {
						t.Errorf("token verified with key %s", k.KeyID)
					}
				}
			}
			if tt.alg == RS256 {
				assertPublicJWKS(t, m)
			}
		})
	}
}

func signToken(t testing.TB, k Key, payload []byte) string {
	t.Helper()
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Algorithm), Key: k.Private},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), k.ID),
	)
	if err != nil {
		t.Fatalf("new signer: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWKSIsRenderedOnlyWhenKeySetChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.manager(t, ES256)
	before := m.JWKS()
	f.clk.Advance(time.Minute)
	tick(t, m)
	if err := m.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := m.JWKS(); &after[0] != &before[0] {
		t.Error("JWKS re-rendered although the key set did not change")
	}
	if err := m.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(m.JWKS(), before) {
		t.Error("JWKS unchanged after rotation")
	}
}

func TestReloadPicksUpAnotherInstancesRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.manager(t, ES256)
	b := f.manager(t, ES256)
	if err := a.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b.Current().ID == a.Current().ID {
		t.Fatal("b changed without reloading")
	}
	if err := b.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b.Current().ID != a.Current().ID || !bytes.Equal(a.JWKS(), b.JWKS()) {
		t.Error("after Reload b differs from a")
	}
}

func TestConcurrentInstancesConverge(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ms := []*Manager{f.manager(t, ES256), f.manager(t, ES256), f.manager(t, ES256)}
	f.clk.Advance(rotation)
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(ms))
	for _, m := range ms {
		wg.Go(func() { errs <- m.Tick(context.Background()) })
		wg.Go(func() {
			// Readers on the hot path while the schedule runs.
			for range 1000 {
				if m.Current().Private == nil {
					errs <- errors.New("current key without private part")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	states := f.st.byState()
	active := onlyOne(t, states[store.KeyActive], "active")
	onlyOne(t, states[store.KeyNext], "next")
	onlyOne(t, states[store.KeyRetired], "retired")
	for i, m := range ms {
		if m.Current().ID != active {
			t.Errorf("instance %d signs with %s, want %s", i, m.Current().ID, active)
		}
	}
}

func TestStoreFailureKeepsServingLastKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.manager(t, ES256)
	first, jwks := m.Current().ID, m.JWKS()
	f.clk.Advance(rotation)
	boom := errors.New("disk full")
	f.st.setFailWrite(boom)
	if err := m.Tick(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Tick err = %v, want the store error", err)
	}
	if m.Current().ID != first || !bytes.Equal(m.JWKS(), jwks) {
		t.Error("failed Tick changed what is served")
	}
	f.st.setFailWrite(nil)
	tick(t, m)
	if m.Current().ID == first {
		t.Error("no rotation once the store recovered")
	}
}

func TestRunAppliesScheduleUntilCancelled(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.manager(t, EdDSA)
	first := m.Current().ID
	f.clk.Advance(rotation)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx, time.Millisecond); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for m.Current().ID == first {
		if time.Now().After(deadline) {
			t.Fatal("Run did not rotate")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name string
		mod  func(*Options)
	}{
		{"unknown algorithm", func(o *Options) { o.Algorithm = "HS256" }},
		{"none", func(o *Options) { o.Algorithm = "none" }},
		{"negative rotation", func(o *Options) { o.RotationPeriod = -time.Hour }},
		{"publish ahead beyond rotation", func(o *Options) { o.PublishAhead = rotation + time.Hour }},
		{"negative lifetime", func(o *Options) { o.MaxTokenLifetime = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := f.opts(ES256)
			tt.mod(&o)
			if _, err := New(context.Background(), newMemKeys(f.clk.Now), f.sealer, o); !errors.Is(err, ErrOptions) {
				t.Errorf("New err = %v, want ErrOptions", err)
			}
		})
	}
	if _, err := New(context.Background(), nil, f.sealer, f.opts(ES256)); err == nil {
		t.Error("New without a store succeeded")
	}
}

func TestKeyLogValueHidesPrivateKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.manager(t, EdDSA)
	v := m.Current().LogValue().String()
	if !strings.Contains(v, m.Current().ID) || strings.Contains(strings.ToLower(v), "private") {
		t.Errorf("LogValue = %s", v)
	}
}
