package store

import (
	"context"
	"database/sql"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/vecmath"
)

// MaxMemoriesPerUser is how many memories one end user keeps: past it,
// the oldest are forgotten as new ones arrive.
const MaxMemoriesPerUser = 1000

// AddMemories stores memories, whose IDs and times the caller decided,
// and forgets the oldest memories of their users past
// MaxMemoriesPerUser, in one transaction.
func (s *Store) AddMemories(ctx context.Context, memories []ragd.Memory) error {
	for _, m := range memories {
		if err := explicit("memory", m.ID, m.Created); err != nil {
			return err
		}
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		users := map[[2]string]bool{}
		for _, m := range memories {
			if _, err := tx.ExecContext(ctx, `INSERT INTO memories (id, workspace, user_id, role, content, model, embedding, created)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, m.ID, m.Workspace, m.UserID, m.Role, m.Content, m.Model, vecmath.Bytes(m.Vector), m.Created); err != nil {
				return err
			}
			users[[2]string{m.Workspace, m.UserID}] = true
		}
		for u := range users {
			if _, err := tx.ExecContext(ctx, `DELETE FROM memories WHERE workspace = ? AND user_id = ? AND seq <= (
				SELECT seq FROM memories WHERE workspace = ?1 AND user_id = ?2 ORDER BY seq DESC LIMIT 1 OFFSET ?3)`,
				u[0], u[1], MaxMemoriesPerUser); err != nil {
				return err
			}
		}
		return nil
	})
}

// Memories returns every memory of user of workspace ws, oldest first,
// with their vectors.
func (s *Store) Memories(ctx context.Context, ws, user string) ([]ragd.Memory, error) {
	return queryAll(ctx, s.db, func(r rowScanner) (ragd.Memory, error) {
		m := ragd.Memory{Workspace: ws}
		var vec []byte
		err := r.Scan(&m.ID, &m.UserID, &m.Role, &m.Content, &m.Model, &vec, &m.Created)
		m.Vector = vecmath.Floats(vec)
		return m, err
	}, `SELECT id, user_id, role, content, model, embedding, created FROM memories WHERE workspace = ? AND user_id = ? ORDER BY seq`, ws, user)
}

// DeleteMemories deletes memory id of user of workspace ws, or with an
// empty id every memory of the user, text and vector alike, and returns
// how many it deleted. An id the user does not have, or a user with no
// memories, is ENOTFOUND.
func (s *Store) DeleteMemories(ctx context.Context, ws, user, id string) (int, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM memories WHERE workspace = ? AND user_id = ? AND (? = '' OR id = ?)`, ws, user, id, id)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		switch {
		case n == 0 && id != "":
			return notFound("memory", id)
		case n == 0:
			return notFound("user", user)
		}
		return nil
	})
	if err == nil && n > 0 {
		s.freeSpace()
	}
	return int(n), err
}
