package storetest

import (
	"context"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store"
)

// At is the time the helpers below stamp writes with. The store records
// only what a write carries (the service decides IDs and times before
// writing); tests that write to a store directly decide them here.
const At int64 = 1_767_225_600 // 2026-01-01T00:00:00Z

// Stamp gives each item without an ID a new one and each item without a
// created time At, as the service does before InsertItems, and returns
// items.
func Stamp(items []ragd.NewItem) []ragd.NewItem {
	for i := range items {
		if items[i].ID == "" {
			items[i].ID = ragd.NewID("item")
		}
		if items[i].Created == 0 {
			items[i].Created = At
		}
	}
	return items
}

// CreateCollection gives c an ID and created time when it has none and
// creates it in st; an error fails tb.
func CreateCollection(tb testing.TB, st *store.Store, c *ragd.Collection) *ragd.Collection {
	tb.Helper()
	if err := st.CreateCollection(context.Background(), StampCollection(c)); err != nil {
		tb.Fatal(err)
	}
	return c
}

// StampCollection gives c an ID and created time when it has none, as the
// service does before CreateCollection, and returns c.
func StampCollection(c *ragd.Collection) *ragd.Collection {
	if c.ID == "" {
		c.ID = ragd.NewID("col")
	}
	if c.Created == 0 {
		c.Created = At
	}
	return c
}
