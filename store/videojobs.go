package store

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/ragd/ragd"
)

// CreateVideoJob stores a new video job; its ID and Created time are the
// caller's.
func (s *Store) CreateVideoJob(ctx context.Context, j *ragd.VideoJob) error {
	if err := explicit("video job", j.ID, j.Created); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO video_jobs (id, workspace, model, provider, upstream_id, status, created, updated, record)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			j.ID, j.Workspace, j.Model, j.Provider, j.UpstreamID, j.Status, j.Created, j.Created, string(j.Record))
		return err
	})
}

// UpdateVideoJob records the provider's answer record, of status, about
// job id of workspace ws as of at (Unix seconds), or returns ENOTFOUND.
func (s *Store) UpdateVideoJob(ctx context.Context, ws, id, status string, record json.RawMessage, at int64) error {
	if err := explicit("video job", id, at); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE video_jobs SET status = ?, record = ?, updated = ? WHERE id = ? AND workspace = ?`,
			status, string(record), at, id, ws)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("video job", id)
		}
		return nil
	})
}

// VideoJob returns video job id of workspace ws, or ENOTFOUND.
func (s *Store) VideoJob(ctx context.Context, ws, id string) (*ragd.VideoJob, error) {
	j := &ragd.VideoJob{}
	var record string
	err := s.db.QueryRowContext(ctx, `SELECT id, workspace, model, provider, upstream_id, status, created, updated, record
		FROM video_jobs WHERE id = ? AND workspace = ?`, id, ws).
		Scan(&j.ID, &j.Workspace, &j.Model, &j.Provider, &j.UpstreamID, &j.Status, &j.Created, &j.Updated, &record)
	if err == sql.ErrNoRows {
		return nil, notFound("video job", id)
	}
	j.Record = json.RawMessage(record)
	return j, err
}
