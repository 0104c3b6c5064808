package storetest

import (
	"encoding/json"
	"testing"

	"github.com/portcullis-id/portcullis/store"
)

func providerTests() []test {
	return []test{
		{"CRUD", testProviderCRUD},
		{"NamesAreUniquePerKind", testProviderUniqueness},
	}
}

func testProviderCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := ok[store.Provider](t, "create")(s.CreateProvider(ctx, store.Provider{
		Kind: store.ProviderWebIdentity, Name: "CI", Source: "api",
		Config: json.RawMessage(`{ "url": "https://ci.example", "audiences": ["sts"] }`),
	}))
	if p.Version != 1 || string(p.Config) != `{"url":"https://ci.example","audiences":["sts"]}` {
		t.Fatalf("created = %+v (config %s)", p, p.Config)
	}
	got := ok[store.Provider](t, "get by other case")(s.GetProvider(ctx, store.ProviderWebIdentity, "ci"))
	if got.Name != "CI" || string(got.Config) != string(p.Config) {
		t.Errorf("get = %+v", got)
	}
	_, err := s.GetProvider(ctx, store.ProviderSAML, "CI")
	wantErr(t, "same name, other kind", err, store.ErrNotFound)

	ok[store.Provider](t, "create saml")(s.CreateProvider(ctx, store.Provider{
		Kind: store.ProviderSAML, Name: "corp", Config: json.RawMessage(`{}`),
	}))
	ok[store.Provider](t, "create another")(s.CreateProvider(ctx, store.Provider{
		Kind: store.ProviderWebIdentity, Name: "a-first", Config: json.RawMessage(`{}`),
	}))
	list := ok[[]store.Provider](t, "list kind")(s.ListProviders(ctx, store.ProviderWebIdentity))
	if len(list) != 2 || list[0].Name != "a-first" || list[1].Name != "CI" {
		t.Errorf("list = %+v", list)
	}
	if all := ok[[]store.Provider](t, "list all")(s.ListProviders(ctx, "")); len(all) != 3 {
		t.Errorf("list all = %d providers, want 3", len(all))
	}

	p.Config = json.RawMessage(`{"url":"https://ci2.example"}`)
	up := ok[store.Provider](t, "update")(s.UpdateProvider(ctx, p))
	if up.Version != 2 || string(up.Config) != `{"url":"https://ci2.example"}` {
		t.Errorf("updated = %+v", up)
	}
	_, err = s.UpdateProvider(ctx, p) // still Version 1
	wantErr(t, "stale update", err, store.ErrConflict)
	_, err = s.UpdateProvider(ctx, store.Provider{Kind: store.ProviderWebIdentity, Name: "nope", Config: json.RawMessage(`{}`), Meta: store.Meta{Version: 1}})
	wantErr(t, "update missing", err, store.ErrNotFound)
	_, err = s.CreateProvider(ctx, store.Provider{Kind: store.ProviderWebIdentity, Name: "bad", Config: json.RawMessage(`{`)})
	if err == nil {
		t.Error("config that is not JSON was stored")
	}

	noErr(t, "delete", s.DeleteProvider(ctx, store.ProviderWebIdentity, "ci"))
	_, err = s.GetProvider(ctx, store.ProviderWebIdentity, "CI")
	wantErr(t, "get deleted", err, store.ErrNotFound)
	wantErr(t, "delete twice", s.DeleteProvider(ctx, store.ProviderWebIdentity, "CI"), store.ErrNotFound)
}

func testProviderUniqueness(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok[store.Provider](t, "create")(s.CreateProvider(ctx, store.Provider{Kind: store.ProviderSAML, Name: "Okta", Config: json.RawMessage(`{}`)}))
	_, err := s.CreateProvider(ctx, store.Provider{Kind: store.ProviderSAML, Name: "okta", Config: json.RawMessage(`{}`)})
	wantErr(t, "same name other case", err, store.ErrAlreadyExists)
	ok[store.Provider](t, "same name other kind")(s.CreateProvider(ctx, store.Provider{Kind: store.ProviderWebIdentity, Name: "okta", Config: json.RawMessage(`{}`)}))
}
