package store

import (
	"context"
	"database/sql"

	"github.com/ragd/ragd"
)

// ensureWorkspace creates the workspace if it does not exist.
func (s *Store) ensureWorkspace(tx *sql.Tx, name string) error {
	_, err := tx.Exec(`INSERT INTO workspaces (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, s.Now().Unix())
	return err
}

// Workspace returns the named workspace, or ENOTFOUND.
func (s *Store) Workspace(ctx context.Context, name string) (*ragd.Workspace, error) {
	w := &ragd.Workspace{}
	err := s.db.QueryRowContext(ctx, `SELECT name, created FROM workspaces WHERE name = ?`, name).Scan(&w.Name, &w.Created)
	if err == sql.ErrNoRows {
		return nil, notFound("workspace", name)
	}
	return w, err
}
