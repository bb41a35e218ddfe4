package store

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/ragd/ragd"
)

// SaveCompletion stores a completion of workspace ws.
func (s *Store) SaveCompletion(ctx context.Context, ws string, c *ragd.StoredCompletion) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO completions (id, workspace, created, model, record) VALUES (?, ?, ?, ?, ?)`,
			c.ID, ws, c.Created, c.Model, string(c.Record))
		return err
	})
}

// Completion returns completion id of workspace ws, or ENOTFOUND.
func (s *Store) Completion(ctx context.Context, ws, id string) (*ragd.StoredCompletion, error) {
	c := &ragd.StoredCompletion{}
	var record string
	var vote sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT id, created, model, record, vote FROM completions WHERE id = ? AND workspace = ?`, id, ws).
		Scan(&c.ID, &c.Created, &c.Model, &record, &vote)
	if err == sql.ErrNoRows {
		return nil, notFound("chat completion", id)
	}
	c.Record, c.Vote = json.RawMessage(record), vote.String
	return c, err
}

// VoteCompletion records vote ("up" or "down") on completion id of
// workspace ws as of at (Unix seconds); a later vote replaces an earlier
// one.
func (s *Store) VoteCompletion(ctx context.Context, ws, id, vote string, at int64) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE completions SET vote = ?, voted_at = ? WHERE id = ? AND workspace = ?`, vote, at, id, ws)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("chat completion", id)
		}
		return nil
	})
}
