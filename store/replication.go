package store

import (
	"context"
	"database/sql"
)

// appliedKey is the context key of WithApplied.
type appliedKey struct{}

// WithApplied returns a context under which the store's next write also
// records seq as the last applied position of the replicated log, in the
// same transaction: either the operation and its position are both kept,
// or neither is, so a node that crashed applies every operation exactly
// once on restart. A cluster applies each logged operation under it.
func WithApplied(ctx context.Context, seq uint64) context.Context {
	return context.WithValue(ctx, appliedKey{}, seq)
}

// Applied returns the last applied position of the replicated log (0 when
// nothing was applied).
func (s *Store) Applied(ctx context.Context) (uint64, error) {
	var seq uint64
	err := s.db.QueryRowContext(ctx, `SELECT applied FROM replication WHERE id = 1`).Scan(&seq)
	return seq, err
}

// MarkApplied records seq as applied without any other write: for a logged
// operation that failed on every node alike (its collection was deleted
// before it, a name was taken), which leaves no rows.
func (s *Store) MarkApplied(ctx context.Context, seq uint64) error {
	return s.write(WithApplied(ctx, seq), func(*sql.Tx) error { return nil })
}

// recordApplied writes ctx's applied position, if it carries one, in tx.
func recordApplied(ctx context.Context, tx *sql.Tx) error {
	seq, ok := ctx.Value(appliedKey{}).(uint64)
	if !ok {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE replication SET applied = ? WHERE id = 1 AND applied < ?`, seq, seq)
	return err
}
