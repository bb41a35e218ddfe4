package store

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/ragd/ragd"
)

// CreateWebhook stores w, whose ID and Created must be set.
func (s *Store) CreateWebhook(ctx context.Context, w *ragd.Webhook) error {
	if err := explicit("webhook", w.ID, w.Created); err != nil {
		return err
	}
	events, err := json.Marshal(w.Events)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhooks (id, workspace, url, events, secret, created) VALUES (?, ?, ?, ?, ?, ?)`,
			w.ID, w.Workspace, w.URL, string(events), w.Secret, w.Created)
		return err
	})
}

func scanWebhook(r rowScanner) (*ragd.Webhook, error) {
	w := &ragd.Webhook{}
	var events string
	if err := r.Scan(&w.ID, &w.Workspace, &w.URL, &events, &w.Created); err != nil {
		return nil, err
	}
	return w, json.Unmarshal([]byte(events), &w.Events)
}

// Webhooks lists a page of the webhooks of workspace ws, oldest first,
// without secrets, and whether more follow.
func (s *Store) Webhooks(ctx context.Context, ws string, p ragd.Page) ([]*ragd.Webhook, bool, error) {
	after, err := s.afterSeq(ctx, "webhooks", "workspace = ?", p.After, ws)
	if err != nil {
		return nil, false, err
	}
	return listPage(ctx, s, p.Limit, scanWebhook,
		`SELECT id, workspace, url, events, created FROM webhooks WHERE workspace = ? AND rowid > ? ORDER BY rowid LIMIT ?`, ws, after, p.Limit+1)
}

// Webhook returns webhook id of workspace ws without its secret, or
// ENOTFOUND.
func (s *Store) Webhook(ctx context.Context, ws, id string) (*ragd.Webhook, error) {
	w, err := scanWebhook(s.db.QueryRowContext(ctx, `SELECT id, workspace, url, events, created FROM webhooks WHERE workspace = ? AND id = ?`, ws, id))
	if err == sql.ErrNoRows {
		return nil, notFound("webhook", id)
	}
	return w, err
}

// DeleteWebhook deletes webhook id of workspace ws and its deliveries, or
// returns ENOTFOUND.
func (s *Store) DeleteWebhook(ctx context.Context, ws, id string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE workspace = ? AND id = ?`, ws, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("webhook", id)
		}
		return nil
	})
}

// EnqueueEvent puts one pending delivery of the event into the outbox for
// every webhook of workspace ws subscribed to eventType, in one
// transaction, and returns how many it queued.
func (s *Store) EnqueueEvent(ctx context.Context, ws, eventType, eventID string, payload []byte) (int, error) {
	n := 0
	err := s.writeBookkeeping(ctx, func(ctx context.Context, tx *sql.Tx) error {
		ids, err := queryColumn[string](ctx, tx, `SELECT w.id FROM webhooks w, json_each(w.events) e WHERE w.workspace = ? AND e.value = ?`, ws, eventType)
		if err != nil {
			return err
		}
		now := s.Now()
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, webhook_id, event_id, type, payload, state, next_attempt, created, updated)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, ragd.NewID("whd"), id, eventID, eventType, payload, ragd.DeliveryPending, now.UnixMilli(), now.Unix(), now.Unix()); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

const deliveryColumns = `d.id, d.webhook_id, d.event_id, d.type, d.state, d.attempts, d.next_attempt, d.last_status, d.last_error, d.created, d.updated`

func scanDelivery(r rowScanner, extra ...any) (*ragd.Delivery, error) {
	d := &ragd.Delivery{}
	return d, r.Scan(append([]any{&d.ID, &d.WebhookID, &d.EventID, &d.Type, &d.State, &d.Attempts, &d.NextAttempt,
		&d.LastStatus, &d.LastError, &d.Created, &d.Updated}, extra...)...)
}

// DueDeliveries returns up to limit pending deliveries whose next attempt
// is due at now (unix milliseconds), oldest first, with their payload, URL and
// secret.
func (s *Store) DueDeliveries(ctx context.Context, now int64, limit int) ([]*ragd.Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+deliveryColumns+`, d.payload, w.url, w.secret
		FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
		WHERE d.state = ? AND d.next_attempt <= ? ORDER BY d.next_attempt, d.seq LIMIT ?`, ragd.DeliveryPending, now, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ragd.Delivery
	for rows.Next() {
		var d *ragd.Delivery
		var payload []byte
		var url, secret string
		if d, err = scanDelivery(rows, &payload, &url, &secret); err != nil {
			return nil, err
		}
		d.Payload, d.URL, d.Secret = payload, url, secret
		out = append(out, d)
	}
	return out, rows.Err()
}

// NextDeliveryAt returns when the earliest pending delivery is due, in
// unix milliseconds,
// and false when none is pending.
func (s *Store) NextDeliveryAt(ctx context.Context) (int64, bool, error) {
	var t sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT min(next_attempt) FROM webhook_deliveries WHERE state = ?`, ragd.DeliveryPending).Scan(&t)
	return t.Int64, t.Valid, err
}

// RecordDeliveryAttempt stores the outcome of one attempt of delivery d:
// its new State, Attempts, NextAttempt, LastStatus and LastError.
func (s *Store) RecordDeliveryAttempt(ctx context.Context, d *ragd.Delivery) error {
	d.Updated = s.Now().Unix()
	return s.writeBookkeeping(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = ?, attempts = ?, next_attempt = ?, last_status = ?, last_error = ?, updated = ?
			WHERE id = ?`, d.State, d.Attempts, d.NextAttempt, d.LastStatus, d.LastError, d.Updated, d.ID)
		return err
	})
}

// Deliveries lists the deliveries of webhook id of workspace ws, newest
// first, or returns ENOTFOUND for an unknown webhook.
func (s *Store) Deliveries(ctx context.Context, ws, id string, limit int) ([]*ragd.Delivery, error) {
	if _, err := s.Webhook(ctx, ws, id); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d WHERE d.webhook_id = ? ORDER BY d.seq DESC LIMIT ?`, id, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ragd.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
