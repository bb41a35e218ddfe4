package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ragd/ragd/store"
)

func TestKeysCommand(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"keys", "create", "--data-dir", dir, "--name", "ci", "--workspace", "team", "--admin"}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	var k store.Key
	if err := json.Unmarshal(out.Bytes(), &k); err != nil || k.Secret == "" || k.Workspace != "team" || !k.Admin {
		t.Fatalf("created %q: %v", out.String(), err)
	}
	out.Reset()
	if err := run(ctx, []string{"keys", "list", "--data-dir", dir}, &out, &errOut); err != nil || !strings.Contains(out.String(), k.ID) || strings.Contains(out.String(), k.Secret) {
		t.Fatalf("list %q: %v", out.String(), err)
	}
	if err := run(ctx, []string{"keys", "revoke", "--data-dir", dir, k.ID}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.KeyBySecret(ctx, k.Secret); err == nil {
		t.Fatal("revoked key still authenticates")
	}
	if err := run(ctx, []string{"keys", "revoke", "--data-dir", dir, k.ID}, &out, &errOut); err == nil {
		t.Fatal("revoking twice succeeded")
	}
}

// TestKeysListAllPages lists more keys than one page of the store holds.
func TestKeysListAllPages(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i := range 150 {
		k := &store.Key{Name: "k" + strconv.Itoa(i)}
		if err := st.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		want[k.ID] = true
	}
	st.Close()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"keys", "list", "--data-dir", dir}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	var keys []store.Key
	if err := json.Unmarshal(out.Bytes(), &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		delete(want, k.ID)
	}
	if len(keys) != 150 || len(want) != 0 {
		t.Fatalf("listed %d keys, %d of the 150 missing", len(keys), len(want))
	}
}
