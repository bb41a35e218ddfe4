package store

import (
	"context"
	"database/sql"

	"github.com/ragd/ragd"
)

// CreateKey stores key k, whose secret hashes to hash (ragd.HashSecret),
// creating its workspace if needed. Its ID and Created must be set.
func (s *Store) CreateKey(ctx context.Context, k *ragd.Key, hash string) error {
	if err := explicit("key", k.ID, k.Created); err != nil {
		return err
	}
	if k.Workspace == "" {
		k.Workspace = ragd.DefaultWorkspace
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := ensureWorkspace(tx, k.Workspace, k.Created); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO api_keys (id, name, workspace, admin, rpm, tpm, hash, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.Name, k.Workspace, k.Admin, k.RPM, k.TPM, hash, k.Created)
		return err
	})
}

const keyColumns = `id, name, workspace, admin, rpm, tpm, created`

func scanKey(r rowScanner) (*ragd.Key, error) {
	k := &ragd.Key{}
	return k, r.Scan(&k.ID, &k.Name, &k.Workspace, &k.Admin, &k.RPM, &k.TPM, &k.Created)
}

// KeyBySecret returns the live key whose secret is secret, or
// EUNAUTHORIZED. The lookup is by hash, so timing reveals nothing about
// the secret.
func (s *Store) KeyBySecret(ctx context.Context, secret string) (*ragd.Key, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = ? AND revoked_at IS NULL`, ragd.HashSecret(secret)))
	if err == sql.ErrNoRows {
		return nil, &ragd.Error{Kind: ragd.EUNAUTHORIZED, Message: "the API key is not valid or has been revoked"}
	}
	return k, err
}

// Keys lists a page of the live keys, oldest first, without secrets, and
// whether more follow.
func (s *Store) Keys(ctx context.Context, p ragd.Page) ([]*ragd.Key, bool, error) {
	after, err := s.afterSeq(ctx, "api_keys", "revoked_at IS NULL", p.After)
	if err != nil {
		return nil, false, err
	}
	return listPage(ctx, s, p.Limit, scanKey,
		`SELECT `+keyColumns+` FROM api_keys WHERE revoked_at IS NULL AND rowid > ? ORDER BY rowid LIMIT ?`, after, p.Limit+1)
}

// CountKeys returns the number of live keys.
func (s *Store) CountKeys(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM api_keys WHERE revoked_at IS NULL`).Scan(&n)
	return n, err
}

// RevokeKey revokes key id as of at (Unix seconds); an unknown or already
// revoked id is ENOTFOUND.
func (s *Store) RevokeKey(ctx context.Context, id string, at int64) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, at, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("key", id)
		}
		return nil
	})
}

// Workspaces lists all workspaces, oldest first.
func (s *Store) Workspaces(ctx context.Context) ([]*ragd.Workspace, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, created FROM workspaces ORDER BY created, name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ragd.Workspace
	for rows.Next() {
		w := &ragd.Workspace{}
		if err := rows.Scan(&w.Name, &w.Created); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}
