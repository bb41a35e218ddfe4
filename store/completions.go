package store

import (
	"context"
	"database/sql"
	"encoding/json"
)

// StoredCompletion is a chat completion as stored: its JSON record (the
// OpenAI completion with its sources) and the client's vote.
type StoredCompletion struct {
	ID      string
	Created int64
	Model   string
	Record  json.RawMessage
	// Vote is "up", "down" or "" when none was cast.
	Vote string
}

// SaveCompletion stores a completion of workspace ws.
func (s *Store) SaveCompletion(ctx context.Context, ws string, c *StoredCompletion) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO completions (id, workspace, created, model, record) VALUES (?, ?, ?, ?, ?)`,
			c.ID, ws, c.Created, c.Model, string(c.Record))
		return err
	})
}

// Completion returns completion id of workspace ws, or ENOTFOUND.
func (s *Store) Completion(ctx context.Context, ws, id string) (*StoredCompletion, error) {
	c := &StoredCompletion{}
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
// workspace ws; a later vote replaces an earlier one.
func (s *Store) VoteCompletion(ctx context.Context, ws, id, vote string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE completions SET vote = ?, voted_at = ? WHERE id = ? AND workspace = ?`, vote, s.Now().Unix(), id, ws)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("chat completion", id)
		}
		return nil
	})
}
