package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"

	"github.com/ragd/ragd"
)

// Key is an API key. Its secret is shown once, at creation, and stored
// only as a SHA-256 hash.
type Key struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Workspace string `json:"workspace"`
	Admin     bool   `json:"admin"`
	RPM       int    `json:"rpm"`
	TPM       int    `json:"tpm"`
	Created   int64  `json:"created"`
	// Secret is set only on the Key returned by CreateKey.
	Secret string `json:"secret,omitempty"`
}

// KeyPrefix starts every ragd API key secret.
const KeyPrefix = "ragd-"

// HashSecret returns the stored form of a key secret. Secrets are 256
// random bits, so a plain SHA-256 is as strong as a slow hash here.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CreateKey stores a new key (k.ID, Created and Secret are set here),
// creating its workspace if needed.
func (s *Store) CreateKey(ctx context.Context, k *Key) error {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	k.Secret = KeyPrefix + idEncoding.EncodeToString(b[:])
	return s.insertKey(ctx, k, HashSecret(k.Secret))
}

// ImportKey stores a key whose secret the operator chose (RAGD_ADMIN_KEY).
// Importing the same secret again is a no-op.
func (s *Store) ImportKey(ctx context.Context, k *Key, secret string) error {
	if _, err := s.KeyBySecret(ctx, secret); err == nil {
		return nil
	}
	return s.insertKey(ctx, k, HashSecret(secret))
}

func (s *Store) insertKey(ctx context.Context, k *Key, hash string) error {
	k.ID = NewID("key")
	k.Created = s.Now().Unix()
	if k.Workspace == "" {
		k.Workspace = DefaultWorkspace
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := s.ensureWorkspace(tx, k.Workspace); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO api_keys (id, name, workspace, admin, rpm, tpm, hash, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.Name, k.Workspace, k.Admin, k.RPM, k.TPM, hash, k.Created)
		return err
	})
}

const keyColumns = `id, name, workspace, admin, rpm, tpm, created`

func scanKey(r rowScanner) (*Key, error) {
	k := &Key{}
	return k, r.Scan(&k.ID, &k.Name, &k.Workspace, &k.Admin, &k.RPM, &k.TPM, &k.Created)
}

// KeyBySecret returns the live key whose secret is secret, or
// EUNAUTHORIZED. The lookup is by hash, so timing reveals nothing about
// the secret.
func (s *Store) KeyBySecret(ctx context.Context, secret string) (*Key, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = ? AND revoked_at IS NULL`, HashSecret(secret)))
	if err == sql.ErrNoRows {
		return nil, &ragd.Error{Kind: ragd.EUNAUTHORIZED, Message: "the API key is not valid or has been revoked"}
	}
	return k, err
}

// Keys lists a page of the live keys, oldest first, without secrets, and
// whether more follow.
func (s *Store) Keys(ctx context.Context, p Page) ([]*Key, bool, error) {
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

// RevokeKey revokes key id at once; an unknown or already revoked id is
// ENOTFOUND.
func (s *Store) RevokeKey(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, s.Now().Unix(), id)
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
func (s *Store) Workspaces(ctx context.Context) ([]*Workspace, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, created FROM workspaces ORDER BY created, name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Workspace
	for rows.Next() {
		w := &Workspace{}
		if err := rows.Scan(&w.Name, &w.Created); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}
