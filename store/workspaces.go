package store

import (
	"context"
	"database/sql"
)

// Workspace is a tenant: keys, collections and everything in them belong
// to exactly one.
type Workspace struct {
	Name    string `json:"name"`
	Created int64  `json:"created"`
}

// DefaultWorkspace is the workspace of keys created without one.
const DefaultWorkspace = "default"

// ensureWorkspace creates the workspace if it does not exist.
func (s *Store) ensureWorkspace(tx *sql.Tx, name string) error {
	_, err := tx.Exec(`INSERT INTO workspaces (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, s.Now().Unix())
	return err
}

// Workspace returns the named workspace, or ENOTFOUND.
func (s *Store) Workspace(ctx context.Context, name string) (*Workspace, error) {
	w := &Workspace{}
	err := s.db.QueryRowContext(ctx, `SELECT name, created FROM workspaces WHERE name = ?`, name).Scan(&w.Name, &w.Created)
	if err == sql.ErrNoRows {
		return nil, notFound("workspace", name)
	}
	return w, err
}
