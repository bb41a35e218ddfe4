package store

import (
	"context"
	"database/sql"

	"github.com/ragd/ragd"
)

const workspaceFileColumns = `id, workspace, filename, bytes, purpose, sha256, created`

func scanWorkspaceFile(r rowScanner) (*ragd.WorkspaceFile, error) {
	f := &ragd.WorkspaceFile{}
	return f, r.Scan(&f.ID, &f.Workspace, &f.Filename, &f.Bytes, &f.Purpose, &f.SHA256, &f.Created)
}

// CreateWorkspaceFile records f, whose ID and Created the caller decided,
// in its workspace, creating the workspace if needed. With limit above 0,
// a file that would take the workspace's file storage (FileBytes) past
// limit bytes is refused with ETOOLARGE "storage_limit_exceeded"; the check
// and the insert are one transaction, so concurrent uploads cannot pass
// the limit together.
func (s *Store) CreateWorkspaceFile(ctx context.Context, f *ragd.WorkspaceFile, limit int64) error {
	if err := explicit("workspace file", f.ID, f.Created); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := ensureWorkspace(tx, f.Workspace, f.Created); err != nil {
			return err
		}
		if limit > 0 {
			used, err := fileBytes(ctx, tx, f.Workspace)
			if err != nil {
				return err
			}
			if used+f.Bytes > limit {
				return ragd.StorageLimitError(used, f.Bytes, limit)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO workspace_files (id, workspace, filename, bytes, purpose, sha256, created)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, f.ID, f.Workspace, f.Filename, f.Bytes, f.Purpose, f.SHA256, f.Created)
		return err
	})
}

// WorkspaceFile returns file id of workspace ws, or ENOTFOUND.
func (s *Store) WorkspaceFile(ctx context.Context, ws, id string) (*ragd.WorkspaceFile, error) {
	f, err := scanWorkspaceFile(s.db.QueryRowContext(ctx, `SELECT `+workspaceFileColumns+` FROM workspace_files WHERE id = ? AND workspace = ?`, id, ws))
	if err == sql.ErrNoRows {
		return nil, notFound("file", id)
	}
	return f, err
}

// WorkspaceFiles returns the files of workspace ws with purpose purpose
// ("": any), oldest first.
func (s *Store) WorkspaceFiles(ctx context.Context, ws, purpose string) ([]*ragd.WorkspaceFile, error) {
	return queryAll(ctx, s.db, scanWorkspaceFile, `SELECT `+workspaceFileColumns+` FROM workspace_files
		WHERE workspace = ? AND (? = '' OR purpose = ?) ORDER BY seq`, ws, purpose, purpose)
}

// DeleteWorkspaceFile deletes file id of workspace ws, or returns
// ENOTFOUND. The vector stores it was attached to keep their copies.
func (s *Store) DeleteWorkspaceFile(ctx context.Context, ws, id string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM workspace_files WHERE id = ? AND workspace = ?`, id, ws)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("file", id)
		}
		return nil
	})
}

// FileBytes returns the bytes of the files workspace ws stores: its
// workspace files plus the files uploaded to its collections directly (a
// workspace file attached to a vector store shares its bytes and counts
// once).
func (s *Store) FileBytes(ctx context.Context, ws string) (int64, error) {
	return fileBytes(ctx, s.db, ws)
}

func fileBytes(ctx context.Context, q querier, ws string) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT (SELECT coalesce(sum(bytes), 0) FROM workspace_files WHERE workspace = ?1) +
		(SELECT coalesce(sum(f.bytes), 0) FROM files f JOIN collections c ON c.id = f.collection_id WHERE c.workspace = ?1
		AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.file_id = f.id))`, ws).Scan(&n)
	return n, err
}
