package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis-id/portcullis/configs"
	"github.com/portcullis-id/portcullis/federation/webidentity"
	"github.com/portcullis-id/portcullis/idp/sts"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/api"
)

// federationTrust keeps the STS's trusted web-identity issuers and SAML providers in
// force: those of the configuration file plus those stored through the admin API or
// apply files. It re-reads the store after every change made here and on a timer, so
// that a change made through another instance sharing the store arrives too.
type federationTrust struct {
	cfg      configs.STSConfig
	issuer   string // our own issuer URL: the default SAML audience and recipient
	st       store.Providers
	verifier *webidentity.Verifier
	sts      *sts.Service // set once the service exists
	log      *slog.Logger

	// claimTags maps an issuer URL to its claim → session-tag rules.
	claimTags atomic.Pointer[map[string]map[string]string]
	reload    sync.Mutex
	last      []byte // digest input of the stored providers last put in force
}

var _ api.ProviderService = (*federationTrust)(nil)

func newFederationTrust(cfg configs.Config, st store.Providers, now func() time.Time, log *slog.Logger) (*federationTrust, error) {
	v, err := webidentity.NewVerifier(nil, webidentity.Options{Now: now})
	if err != nil {
		return nil, fmt.Errorf("sts.issuers: %w", err)
	}
	t := &federationTrust{cfg: cfg.STS, issuer: cfg.Issuer, st: st, verifier: v, log: log}
	empty := map[string]map[string]string{}
	t.claimTags.Store(&empty)
	issuers, tags, err := t.issuers(nil)
	if err != nil {
		return nil, err
	}
	if err := v.Update(issuers); err != nil {
		return nil, fmt.Errorf("sts.issuers: %w", err)
	}
	t.claimTags.Store(&tags)
	return t, nil
}

// Static implements api.ProviderService: the configuration file's providers, shown
// with source "config".
func (t *federationTrust) Static(kind string) []store.Provider {
	var out []store.Provider
	add := func(name string, cfg any) {
		raw, err := json.Marshal(cfg)
		if err != nil {
			return
		}
		out = append(out, store.Provider{Kind: kind, Name: name, Config: raw, Source: "config"})
	}
	switch kind {
	case store.ProviderWebIdentity:
		for _, c := range t.cfg.Issuers {
			add(c.Name, c)
		}
	case store.ProviderSAML:
		for _, c := range t.cfg.SAMLProviders {
			add(c.Name, c)
		}
	}
	return out
}

// Validate implements api.ProviderService.
func (t *federationTrust) Validate(kind, name string, raw json.RawMessage) error {
	switch kind {
	case store.ProviderWebIdentity:
		c, err := decodeProvider[configs.TrustedIssuerConfig](name, raw, func(c *configs.TrustedIssuerConfig) *string { return &c.Name })
		if err != nil {
			return err
		}
		if err := c.Check(); err != nil {
			return err
		}
		is, err := trustedIssuer(c)
		if err != nil {
			return err
		}
		for _, other := range t.cfg.Issuers {
			if o, err := trustedIssuer(other); err == nil && o.URL == is.URL {
				return fmt.Errorf("url: issuer %s is already trusted by the configuration file as %q", is.URL, other.Name)
			}
		}
		return nil
	case store.ProviderSAML:
		c, err := decodeProvider[configs.SAMLProviderConfig](name, raw, func(c *configs.SAMLProviderConfig) *string { return &c.Name })
		if err != nil {
			return err
		}
		if err := c.Check(); err != nil {
			return err
		}
		p, err := t.samlProvider(c)
		if err != nil {
			return err
		}
		if err := sts.ValidateSAMLProvider(p, t.cfg.Account, t.issuer); err != nil {
			return fmt.Errorf("metadata_xml: %w", err)
		}
		return nil
	}
	return fmt.Errorf("unknown provider kind %q", kind)
}

// decodeProvider decodes a stored or submitted config strictly. The record's name is
// authoritative: a config may leave name out, and must not contradict it.
func decodeProvider[T any](name string, raw json.RawMessage, nameOf func(*T) *string) (T, error) {
	var c T
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return c, fmt.Errorf("%s: unknown field", strings.Trim(field, `"`))
		}
		return c, fmt.Errorf("not a JSON object of provider settings: %w", err)
	}
	n := nameOf(&c)
	if *n != "" && !strings.EqualFold(*n, name) {
		return c, fmt.Errorf("name: %q differs from the provider's name %q; leave it out", *n, name)
	}
	*n = name
	return c, nil
}

// Changed implements api.ProviderService.
func (t *federationTrust) Changed(ctx context.Context) {
	if err := t.Reload(ctx); err != nil {
		t.log.Error("federation settings changed but could not be put in force", "err", err)
	}
}

// Reload puts the stored providers in force beside the configured ones. A stored
// provider that no longer validates (written by another version, say) is skipped and
// logged; the rest still apply.
func (t *federationTrust) Reload(ctx context.Context) error {
	t.reload.Lock()
	defer t.reload.Unlock()
	stored, err := t.st.ListProviders(ctx, "")
	if err != nil {
		return fmt.Errorf("reload federation settings: %w", err)
	}
	fingerprint, _ := json.Marshal(stored)
	if t.last != nil && bytes.Equal(fingerprint, t.last) {
		return nil
	}
	issuers, tags, err := t.issuers(stored)
	if err != nil {
		return err
	}
	var errs []error
	if err := t.verifier.Update(issuers); err != nil {
		errs = append(errs, fmt.Errorf("trusted issuers: %w", err))
	} else {
		t.claimTags.Store(&tags)
	}
	if t.sts != nil {
		providers, err := t.samlProviders(stored)
		if err != nil {
			return err
		}
		if err := t.sts.SetSAMLProviders(providers); err != nil {
			errs = append(errs, fmt.Errorf("saml providers: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("reload federation settings: %w", err)
	}
	if t.sts != nil {
		// Before the service exists only the issuers were put in force.
		t.last = fingerprint
	}
	return nil
}

// Run reloads every interval until ctx ends.
func (t *federationTrust) Run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := t.Reload(ctx); err != nil && ctx.Err() == nil {
				t.log.Error("reload federation settings", "err", err)
			}
		}
	}
}

// issuers returns the configured issuers followed by the valid stored ones, and the
// claim-tag rules of all of them by issuer URL.
func (t *federationTrust) issuers(stored []store.Provider) ([]webidentity.Issuer, map[string]map[string]string, error) {
	var out []webidentity.Issuer
	tags := map[string]map[string]string{}
	for _, c := range t.cfg.Issuers {
		is, err := trustedIssuer(c)
		if err != nil {
			return nil, nil, fmt.Errorf("sts.issuers[%s]: %w", c.Name, err)
		}
		out = append(out, is)
		if len(c.ClaimTags) > 0 {
			tags[is.URL] = c.ClaimTags
		}
	}
	for _, p := range stored {
		if p.Kind != store.ProviderWebIdentity {
			continue
		}
		c, err := decodeProvider[configs.TrustedIssuerConfig](p.Name, p.Config, func(c *configs.TrustedIssuerConfig) *string { return &c.Name })
		if err == nil {
			err = c.Check()
		}
		var is webidentity.Issuer
		if err == nil {
			is, err = trustedIssuer(c)
		}
		if err == nil && tags[is.URL] == nil && containsURL(out, is.URL) {
			err = fmt.Errorf("url: issuer %s is trusted twice", is.URL)
		}
		if err != nil {
			t.log.Error("stored trusted issuer skipped", "name", p.Name, "err", err)
			continue
		}
		out = append(out, is)
		if len(c.ClaimTags) > 0 {
			tags[is.URL] = c.ClaimTags
		}
	}
	return out, tags, nil
}

func containsURL(list []webidentity.Issuer, u string) bool {
	for _, is := range list {
		if is.URL == u {
			return true
		}
	}
	return false
}

// samlProviders returns the configured SAML providers followed by the valid stored
// ones.
func (t *federationTrust) samlProviders(stored []store.Provider) ([]sts.SAMLProvider, error) {
	var out []sts.SAMLProvider
	for _, c := range t.cfg.SAMLProviders {
		p, err := t.samlProvider(c)
		if err != nil {
			return nil, fmt.Errorf("sts.saml_providers[%s]: %w", c.Name, err)
		}
		out = append(out, p)
	}
	for _, rec := range stored {
		if rec.Kind != store.ProviderSAML {
			continue
		}
		c, err := decodeProvider[configs.SAMLProviderConfig](rec.Name, rec.Config, func(c *configs.SAMLProviderConfig) *string { return &c.Name })
		if err == nil {
			err = c.Check()
		}
		var p sts.SAMLProvider
		if err == nil {
			p, err = t.samlProvider(c)
		}
		if err == nil {
			err = sts.ValidateSAMLProvider(p, t.cfg.Account, t.issuer)
		}
		if err != nil {
			t.log.Error("stored SAML provider skipped", "name", rec.Name, "err", err)
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// samlProvider turns a provider's settings into the STS's form, reading the metadata
// file of a configured one.
func (t *federationTrust) samlProvider(c configs.SAMLProviderConfig) (sts.SAMLProvider, error) {
	md := []byte(c.MetadataXML)
	if c.MetadataFile != "" {
		b, err := os.ReadFile(c.MetadataFile)
		if err != nil {
			return sts.SAMLProvider{}, fmt.Errorf("metadata_file: %w", err)
		}
		md = b
	}
	return sts.SAMLProvider{
		ARN:         fmt.Sprintf("arn:portcullis:iam::%s:saml-provider/%s", t.cfg.Account, c.Name),
		MetadataXML: md, Audience: c.Audience, Recipient: c.Recipient, AllowSHA1: c.AllowSHA1,
	}, nil
}

// tags returns the claim-tag rules in force for an issuer URL.
func (t *federationTrust) tags(issuerURL string) map[string]string {
	return (*t.claimTags.Load())[issuerURL]
}
