package store

import (
	"context"
	"database/sql"
	"testing"
)

// TestConnectionsOpenDuringWrite opens every reader connection and the
// checkpointer's while a write transaction holds the database's write
// lock, as a search or a background checkpoint does during a bulk load:
// none waits for the writer. (When every connection set auto_vacuum, a
// new one began a write transaction and failed "database is locked"
// after the busy timeout.)
func TestConnectionsOpenDuringWrite(t *testing.T) {
	s := openTest(t)
	tx, err := s.wdb.Begin() // BEGIN IMMEDIATE: the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	ctx := context.Background()
	for i, db := range []*sql.DB{s.db, s.db, s.db, s.db, s.db, s.db, s.db, s.db, s.cdb} {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		defer conn.Close()
		var n int
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM collections").Scan(&n); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
}
