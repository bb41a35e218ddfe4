package store

import (
	"context"
	"database/sql"

	"github.com/ragd/ragd"
)

// ensureWorkspace creates the workspace, created at created, if it does
// not exist.
func ensureWorkspace(tx *sql.Tx, name string, created int64) error {
	_, err := tx.Exec(`INSERT INTO workspaces (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, created)
	return err
}

// explicit returns an EINTERNAL error unless the caller decided the ID and
// time a write records. The write seam's operations carry them (see
// service.Writer), so that applying one on another store gives the same
// rows; a store that made them up would break that silently.
func explicit(what, id string, at int64) error {
	if id == "" || at <= 0 {
		return ragd.Errorf(ragd.EINTERNAL, "store: the %s write needs its ID and time decided by the caller (got %q, %d)", what, id, at)
	}
	return nil
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
