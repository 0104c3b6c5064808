package declare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/portcullis-id/portcullis/configs"
	"github.com/portcullis-id/portcullis/store"
)

// Kinds of the federation settings a document declares.
const (
	KindTrustedIssuer = "trusted_issuer"
	KindSAMLProvider  = "saml_provider"
)

// ProviderService validates federation settings (trusted web-identity issuers, SAML
// providers of the STS) and puts them in force after an apply changed them.
type ProviderService interface {
	// Validate checks cfg, the settings as JSON; errors name the field.
	Validate(kind, name string, cfg json.RawMessage) error
	Changed(ctx context.Context)
}

// WithProviders sets the service that validates and applies declared trusted issuers
// and SAML providers. Without it, documents declaring any are refused. It returns r
// for chaining at wiring time.
func (r *Reconciler) WithProviders(ps ProviderService) *Reconciler {
	r.providers = ps
	return r
}

// declaredProvider is one trusted_issuers or saml_providers entry as the store keeps it.
type declaredProvider struct {
	kind, name, path string
	config           json.RawMessage
}

// providersOf returns every provider entry of d with its settings as JSON.
func providersOf(d *Document) ([]declaredProvider, error) {
	var out []declaredProvider
	for i, c := range d.TrustedIssuers {
		raw, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("trusted_issuers[%d]: encode: %w", i, err)
		}
		out = append(out, declaredProvider{store.ProviderWebIdentity, c.Name, fmt.Sprintf("trusted_issuers[%d]", i), raw})
	}
	for i, c := range d.SAMLProviders {
		raw, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("saml_providers[%d]: encode: %w", i, err)
		}
		out = append(out, declaredProvider{store.ProviderSAML, c.Name, fmt.Sprintf("saml_providers[%d]", i), raw})
	}
	return out, nil
}

func validateProviders(docs []Document, ps ProviderService) []error {
	var errs []error
	seen := map[string]string{}
	for di := range docs {
		d := &docs[di]
		list, err := providersOf(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range list {
			if ps == nil {
				errs = append(errs, d.errAt(p.path, "federation settings cannot be applied on this server"))
				continue
			}
			if p.name == "" {
				errs = append(errs, d.errAt(p.path+".name", "required"))
				continue
			}
			if err := ps.Validate(p.kind, p.name, p.config); err != nil {
				errs = append(errs, d.errAt(p.path, "%s", err.Error()))
			}
			errs = appendDup(errs, d, seen, p.kind+"\x00"+strings.ToLower(p.name), p.path+".name", strings.ReplaceAll(p.kind, "_", " ")+" name", p.name)
		}
	}
	return errs
}

// applyProviders creates or updates every declared provider and returns the kept
// names per kind (kind NUL lower-cased name).
func (a *applier) applyProviders(ctx context.Context, docs []Document) (map[string]bool, error) {
	kept := map[string]bool{}
	for di := range docs {
		d := &docs[di]
		list, err := providersOf(d)
		if err != nil {
			return nil, err
		}
		for _, p := range list {
			kept[p.kind+"\x00"+strings.ToLower(p.name)] = true
			kind := resultKind(p.kind)
			cur, err := a.tx.GetProvider(ctx, p.kind, p.name)
			switch {
			case errors.Is(err, store.ErrNotFound):
				if _, err := a.tx.CreateProvider(ctx, store.Provider{Kind: p.kind, Name: p.name, Config: p.config, Source: SourceDeclarative}); err != nil {
					return nil, locate(d, p.path, fmt.Errorf("create %s %q: %w", kind, p.name, err))
				}
				a.add(kind, p.name, ActionCreate, nil)
				continue
			case err != nil:
				return nil, locate(d, p.path, fmt.Errorf("look up %s %q: %w", kind, p.name, err))
			}
			if sameJSON(cur.Config, p.config) && cur.Source == SourceDeclarative {
				a.add(kind, p.name, ActionUnchanged, nil)
				continue
			}
			next := cur
			next.Config, next.Source = p.config, SourceDeclarative
			if _, err := a.tx.UpdateProvider(ctx, next); err != nil {
				return nil, locate(d, p.path, fmt.Errorf("update %s %q: %w", kind, p.name, err))
			}
			a.add(kind, p.name, ActionUpdate, []string{"config"})
		}
	}
	return kept, nil
}

// pruneProviders deletes declarative providers no document names.
func (a *applier) pruneProviders(ctx context.Context, kept map[string]bool) error {
	all, err := a.tx.ListProviders(ctx, "")
	if err != nil {
		return fmt.Errorf("prune: list providers: %w", err)
	}
	for _, p := range all {
		if p.Source != SourceDeclarative || kept[p.Kind+"\x00"+strings.ToLower(p.Name)] {
			continue
		}
		if p.Kind != store.ProviderWebIdentity && p.Kind != store.ProviderSAML {
			continue // kinds documents cannot declare are not theirs to prune
		}
		if err := a.tx.DeleteProvider(ctx, p.Kind, p.Name); err != nil {
			return fmt.Errorf("prune: delete %s %q: %w", p.Kind, p.Name, err)
		}
		a.add(resultKind(p.Kind), p.Name, ActionDelete, nil)
	}
	return nil
}

func resultKind(kind string) string {
	if kind == store.ProviderSAML {
		return KindSAMLProvider
	}
	return KindTrustedIssuer
}

// sameJSON compares two JSON texts by their compact form.
func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// providersChanged reports whether res changed any federation setting.
func providersChanged(res Result) bool {
	for _, c := range res.Changes {
		if (c.Kind == KindTrustedIssuer || c.Kind == KindSAMLProvider) && c.Action != ActionUnchanged {
			return true
		}
	}
	return false
}

// Aliases so documents name the same fields as the configuration file's sts section.
type (
	TrustedIssuer = configs.TrustedIssuerConfig
	SAMLProvider  = configs.SAMLProviderConfig
)
