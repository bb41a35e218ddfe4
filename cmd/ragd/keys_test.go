package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

func TestKeysCommand(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := createStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"keys", "create", "--data-dir", dir, "--name", "ci", "--workspace", "team", "--admin"}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	var k ragd.Key
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
	st = storetest.MustOpenIn(t, dir)
	if _, err := st.KeyBySecret(ctx, k.Secret); err == nil {
		t.Fatal("revoked key still authenticates")
	}
	if err := run(ctx, []string{"keys", "revoke", "--data-dir", dir, k.ID}, &out, &errOut); err == nil {
		t.Fatal("revoking twice succeeded")
	}
}

// A mistyped --data-dir must not create an empty database and answer
// from it (an empty key list, an integrity check of nothing).
func TestCommandsRefuseMissingDatabase(t *testing.T) {
	for _, args := range [][]string{
		{"keys", "create", "--admin"},
		{"keys", "list"},
		{"keys", "revoke", "key_123"},
		{"check"},
		{"backup", "OUT.db"},
	} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "typo")
			n := 1 // the --data-dir flag goes after the command and its subcommand
			if args[0] == "keys" {
				n = 2
			}
			args := append(append(args[:n:n], "--data-dir", dir), args[n:]...)
			if args[len(args)-1] == "OUT.db" {
				args[len(args)-1] = filepath.Join(t.TempDir(), "out.db")
			}
			var out bytes.Buffer
			err := run(context.Background(), args, &out, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "no ragd database at "+filepath.Join(dir, store.FileName)) || !strings.Contains(err.Error(), "--data-dir") {
				t.Fatalf("%v: err %v, stdout %q", args, err, out.String())
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("%v created %s", args, dir)
			}
		})
	}
}

// TestKeysListAllPages lists more keys than one page of the store holds.
func TestKeysListAllPages(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	// keys list needs an existing database: create it as ragd serve does.
	st, err := createStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i := range 150 {
		k := &ragd.Key{Name: "k" + strconv.Itoa(i)}
		if err := service.New(service.Config{Store: st}).CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		want[k.ID] = true
	}
	st.Close()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"keys", "list", "--data-dir", dir}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	var keys []ragd.Key
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
