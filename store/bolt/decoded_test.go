package bolt_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/store/bolt"
)

// TestClientCacheNeverServesStaleOrShared checks the decoded-client cache: an update is
// seen at once, and a caller modifying its copy does not change what others get.
func TestClientCacheNeverServesStaleOrShared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := bolt.Open(ctx, filepath.Join(t.TempDir(), "p.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.CreateClient(ctx, store.Client{ID: "app", RedirectURIs: []string{"https://a.example/cb"},
		Secrets: []store.ClientSecret{{ID: "s1", Digest: []byte{1, 2, 3}}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetClient(ctx, "app") // fills the cache
	got.RedirectURIs[0] = "https://evil.example/cb"
	got.Secrets[0].Digest[0] = 9
	again, _ := st.GetClient(ctx, "app")
	if again.RedirectURIs[0] != "https://a.example/cb" || again.Secrets[0].Digest[0] != 1 {
		t.Fatalf("cached client shared with a caller: %+v", again)
	}
	c.RedirectURIs = []string{"https://b.example/cb"}
	if _, err := st.UpdateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	after, _ := st.GetClient(ctx, "app")
	if after.RedirectURIs[0] != "https://b.example/cb" || after.Version != 2 {
		t.Fatalf("stale client after update: %+v", after)
	}
	if err := st.DeleteClient(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetClient(ctx, "app"); err == nil {
		t.Fatal("deleted client still served")
	}
}
