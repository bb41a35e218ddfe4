package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/ragd/ragd"
)

// InsertRequestLogs writes a batch of request logs in one transaction.
func (s *Store) InsertRequestLogs(ctx context.Context, logs []ragd.RequestLog) error {
	if len(logs) == 0 {
		return nil
	}
	return s.writeBookkeeping(ctx, func(ctx context.Context, tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO request_logs (workspace, key_id, request_id, method, endpoint, path, status, duration_ms, tokens, created_ms, body)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, l := range logs {
			if _, err := st.ExecContext(ctx, l.Workspace, l.KeyID, l.RequestID, l.Method, l.Endpoint, l.Path, l.Status,
				l.Duration, l.Tokens, l.Time.UnixMilli(), l.Body); err != nil {
				return err
			}
		}
		return nil
	})
}

// RequestLogs returns a page of the matching logs, newest first, and
// whether more follow. A cursor that is not a log of the workspace is
// EINVALID.
func (s *Store) RequestLogs(ctx context.Context, q ragd.RequestLogQuery) ([]ragd.RequestLog, bool, error) {
	query := `SELECT id, workspace, key_id, request_id, method, endpoint, path, status, duration_ms, tokens, created_ms, body
		FROM request_logs WHERE workspace = ? AND created_ms >= ? AND created_ms < ?`
	args := []any{q.Workspace, q.From.UnixMilli(), q.To.UnixMilli()}
	if q.Endpoint != "" {
		query += ` AND (endpoint = ? OR path = ?)`
		args = append(args, q.Endpoint, q.Endpoint)
	}
	if b := q.Before; b != nil {
		query += ` AND (created_ms < ? OR (created_ms = ? AND id < ?))`
		args = append(args, b.Time, b.Time, b.ID)
	} else if q.Page.After != "" {
		var ms int64
		id, err := strconv.ParseInt(q.Page.After, 10, 64)
		if err == nil {
			err = s.db.QueryRowContext(ctx, `SELECT created_ms FROM request_logs WHERE id = ? AND workspace = ?`, id, q.Workspace).Scan(&ms)
		}
		if err == sql.ErrNoRows || errors.Is(err, strconv.ErrSyntax) || errors.Is(err, strconv.ErrRange) {
			return nil, false, ragd.InvalidCursor(q.Page.After)
		}
		if err != nil {
			return nil, false, err
		}
		query += ` AND (created_ms < ? OR (created_ms = ? AND id < ?))`
		args = append(args, ms, ms, id)
	}
	query += ` ORDER BY created_ms DESC, id DESC LIMIT ?`
	return listPage(ctx, s, q.Page.Limit, scanRequestLog, query, append(args, q.Page.Limit+1)...)
}

func scanRequestLog(r rowScanner) (ragd.RequestLog, error) {
	var l ragd.RequestLog
	var ms int64
	err := r.Scan(&l.ID, &l.Workspace, &l.KeyID, &l.RequestID, &l.Method, &l.Endpoint, &l.Path, &l.Status,
		&l.Duration, &l.Tokens, &ms, &l.Body)
	l.Time = time.UnixMilli(ms).UTC()
	return l, err
}

// PruneRequestLogs deletes the logs of requests before t and returns how
// many it deleted.
func (s *Store) PruneRequestLogs(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.writeBookkeeping(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM request_logs WHERE created_ms < ?`, before.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// DailyUsage counts the logged requests of workspace ws from from to to
// (exclusive) and their tokens by UTC day, oldest first; days without a
// request are left out. It sees only what request logs still hold.
func (s *Store) DailyUsage(ctx context.Context, ws string, from, to time.Time) ([]ragd.DayUsage, error) {
	return queryAll(ctx, s.db, func(r rowScanner) (ragd.DayUsage, error) {
		var d ragd.DayUsage
		err := r.Scan(&d.Date, &d.Requests, &d.Tokens)
		return d, err
	}, `SELECT strftime('%Y-%m-%d', created_ms / 1000, 'unixepoch') AS day, count(*), coalesce(sum(tokens), 0)
		FROM request_logs WHERE workspace = ? AND created_ms >= ? AND created_ms < ? GROUP BY day ORDER BY day`,
		ws, from.UnixMilli(), to.UnixMilli())
}
