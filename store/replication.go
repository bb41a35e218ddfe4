package store

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"strings"
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

// gateKey is the context key of WithCommitGate.
type gateKey struct{}

// WithCommitGate returns a context under which the store's writes call
// gate after their changes and before they commit: gate returns the log
// position the write applies, recorded as with WithApplied, or an error,
// and the write then rolls back and returns it. A cluster node applies its
// own op while the log is still acknowledging it, and only keeps the result
// if the log placed the op right after the last one the node applied.
func WithCommitGate(ctx context.Context, gate func() (uint64, error)) context.Context {
	return context.WithValue(ctx, gateKey{}, gate)
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
	return s.write(WithApplied(ctx, seq), func(context.Context, *sql.Tx) error { return nil })
}

// appliedSeq returns the log position ctx's write applies (WithApplied),
// or 0 outside a cluster's apply.
func appliedSeq(ctx context.Context) uint64 {
	seq, _ := ctx.Value(appliedKey{}).(uint64)
	return seq
}

// recordApplied writes ctx's applied position, if it carries one, in tx:
// given by WithApplied, or by the gate of WithCommitGate, which may refuse
// the commit.
func recordApplied(ctx context.Context, tx *sql.Tx) error {
	seq := appliedSeq(ctx)
	if gate, ok := ctx.Value(gateKey{}).(func() (uint64, error)); ok {
		var err error
		if seq, err = gate(); err != nil {
			return err
		}
	}
	if seq == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE replication SET applied = ? WHERE id = 1 AND applied < ?`, seq, seq)
	return err
}

// ReadApplied returns the last applied position of the replicated log
// recorded in the database file at path, without opening it as a Store
// (no migration, no background work): a cluster node reads it before it
// opens its store, to know whether it must first restore a snapshot. A
// missing file, or one from before replication, has applied nothing.
func ReadApplied(ctx context.Context, path string) (uint64, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	registerDriver()
	// Read-write: a database left by a killed process has its last
	// writes in the WAL, which only a writable open recovers.
	db, err := sql.Open(driverName, "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var seq uint64
	err = db.QueryRowContext(ctx, `SELECT applied FROM replication WHERE id = 1`).Scan(&seq)
	if err != nil && strings.Contains(err.Error(), "no such table") {
		return 0, nil
	}
	return seq, err
}

// ForgetNodeLocalIn empties, in the database file at path (not open as a
// Store), what one node records of itself alone: usage counters, request
// logs and webhook deliveries. A cluster node restoring another node's
// snapshot clears them in the copy before it takes the database's place,
// so that it never reports the other node's traffic as its own.
func ForgetNodeLocalIn(ctx context.Context, path string) error {
	registerDriver()
	db, err := sql.Open(driverName, "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		return err
	}
	defer db.Close()
	for _, table := range []string{"usage_counts", "usage_storage", "request_logs", "webhook_deliveries"} {
		if _, err := db.ExecContext(ctx, `DELETE FROM `+table); err != nil {
			return err
		}
	}
	return nil
}
