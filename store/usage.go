package store

import (
	"context"
	"database/sql"
	"os"

	"github.com/ragd/ragd"
)

// AddUsage adds a batch of counters in one transaction and records, for
// every workspace and month in the batch, the workspace's stored bytes.
func (s *Store) AddUsage(ctx context.Context, batch map[ragd.UsageKey]ragd.UsageCounts) error {
	if len(batch) == 0 {
		return nil
	}
	return s.writeBookkeeping(ctx, func(ctx context.Context, tx *sql.Tx) error {
		add, err := tx.PrepareContext(ctx, `INSERT INTO usage_counts (workspace, month, endpoint, model, requests, embedding_tokens, prompt_tokens, completion_tokens, credits)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace, month, endpoint, model) DO UPDATE SET requests = requests + excluded.requests,
				embedding_tokens = embedding_tokens + excluded.embedding_tokens,
				prompt_tokens = prompt_tokens + excluded.prompt_tokens,
				completion_tokens = completion_tokens + excluded.completion_tokens,
				credits = credits + excluded.credits`)
		if err != nil {
			return err
		}
		defer add.Close()
		months := map[[2]string]bool{}
		for k, c := range batch {
			if _, err := add.ExecContext(ctx, k.Workspace, k.Month, k.Endpoint, k.Model, c.Requests, c.EmbeddingTokens, c.PromptTokens, c.CompletionTokens, c.Credits); err != nil {
				return err
			}
			months[[2]string{k.Workspace, k.Month}] = true
		}
		for wm := range months {
			if _, err := tx.ExecContext(ctx, `INSERT INTO usage_storage (workspace, month, bytes)
				VALUES (?1, ?2, (SELECT coalesce(sum(bytes), 0) FROM collections WHERE workspace = ?1))
				ON CONFLICT (workspace, month) DO UPDATE SET bytes = excluded.bytes`, wm[0], wm[1]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Usage returns the counters of workspace ws in month.
func (s *Store) Usage(ctx context.Context, ws, month string) (map[ragd.UsageKey]ragd.UsageCounts, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT endpoint, model, requests, embedding_tokens, prompt_tokens, completion_tokens, credits
		FROM usage_counts WHERE workspace = ? AND month = ?`, ws, month)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[ragd.UsageKey]ragd.UsageCounts{}
	for rows.Next() {
		k := ragd.UsageKey{Workspace: ws, Month: month}
		var c ragd.UsageCounts
		if err := rows.Scan(&k.Endpoint, &k.Model, &c.Requests, &c.EmbeddingTokens, &c.PromptTokens, &c.CompletionTokens, &c.Credits); err != nil {
			return nil, err
		}
		out[k] = c
	}
	return out, rows.Err()
}

// StoredBytes returns the bytes workspace ws stores now.
func (s *Store) StoredBytes(ctx context.Context, ws string) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT coalesce(sum(bytes), 0) FROM collections WHERE workspace = ?`, ws).Scan(&n)
	return n, err
}

// StoredBytesIn returns the bytes workspace ws stored when its usage of
// month was last recorded, 0 if never.
func (s *Store) StoredBytesIn(ctx context.Context, ws, month string) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT bytes FROM usage_storage WHERE workspace = ? AND month = ?`, ws, month).Scan(&n)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return n, err
}

// DatabaseBytes returns the size on disk of the database file and its WAL.
func (s *Store) DatabaseBytes() int64 {
	var n int64
	for _, p := range []string{s.path, s.path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}
