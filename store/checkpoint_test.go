package store

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/ragd/ragd/internal/testwait"
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

// On a new database, a commit past the start wakes the background
// checkpoint, which copies the WAL's pages into the database file beside
// the writer. (When the store read the page size through the
// checkpointer's connection at Open, that connection opened the new file
// before the writer's set WAL mode, stayed in rollback mode, and its
// checkpoints copied nothing: only the writer's own, at the limit, did.)
func TestBackgroundCheckpointOnNewDatabase(t *testing.T) {
	// From 1 MiB of WAL, set before the store's goroutines start; the
	// limit, 4 MiB, is not reached.
	s := openTest(t, CheckpointAt(1<<20))
	ctx := context.Background()
	before, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	const blob = 3 << 19 // 1.5 MiB
	if err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE junk (b BLOB); INSERT INTO junk VALUES (randomblob(?))`, blob)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 30*time.Second, func() bool {
		fi, err := os.Stat(s.Path())
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size() >= before.Size()+blob
	}, "the 1.5 MiB written never reached the database file: the background checkpoint copied nothing")
}
