package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"
)

// A write's statements run whether or not its context ends meanwhile (no
// statement is interrupted), but a write whose context ended before its
// commit keeps nothing and says why; one whose context lives commits.
// database/sql closes the ended transaction's connection as it rolls it
// back, the last one open: a connection opened meanwhile waits for the
// checkpoint that close runs, where it used to fail to load the keyword
// tokenizer with "database is locked".
func TestWriteEndsWithItsContext(t *testing.T) {
	s := openTest(t)
	for _, cancelFirst := range []bool{true, false} {
		name := map[bool]string{true: "canceled", false: "kept"}[cancelFirst]
		ctx, cancel := context.WithCancel(context.Background())
		err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if cancelFirst {
				cancel()
			}
			if ctx.Err() != nil {
				t.Errorf("%s: the statements' context ended", name)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO workspaces (name, created) VALUES (?, 1)`, name)
			return err
		})
		cancel()
		if cancelFirst && !errors.Is(err, context.Canceled) || !cancelFirst && err != nil {
			t.Errorf("%s: write returned %v", name, err)
		}
		var n int
		if err := s.db.QueryRow(`SELECT count(*) FROM workspaces WHERE name = ?`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 0, false: 1}[cancelFirst]; n != want {
			t.Errorf("%s: %d rows, want %d", name, n, want)
		}
	}
}
