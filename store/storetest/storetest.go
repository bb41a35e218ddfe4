// Package storetest opens stores for the tests of every package that uses
// the store, so that each test gets a fresh database that is closed when
// it ends, without repeating the lines that open, check and close it.
package storetest

import (
	"path/filepath"
	"testing"

	"github.com/ragd/ragd/store"
)

// MustOpen opens a store in a new temporary directory of tb and closes it
// when tb ends; an error fails tb.
func MustOpen(tb testing.TB, opts ...store.Option) *store.Store {
	tb.Helper()
	return MustOpenIn(tb, tb.TempDir(), opts...)
}

// MustOpenIn opens the store of data directory dir, as ragd does, and
// closes it when tb ends; an error fails tb. It serves tests that keep
// other files beside the database (an ingester's uploads) and tests that
// open a database a program under test made. A test that closes the store
// itself, to open it again, must use store.Open: Close may be called once.
func MustOpenIn(tb testing.TB, dir string, opts ...store.Option) *store.Store {
	tb.Helper()
	st, err := store.Open(filepath.Join(dir, store.FileName), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("close the store: %v", err)
		}
	})
	return st
}
