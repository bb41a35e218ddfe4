package service

import (
	"context"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/webhook"
)

var _ webhook.Outbox = (*Service)(nil)

// CreateWebhook registers endpoint w in its workspace once it passes
// webhook.Destinations.Prepare, which may give it a secret.
func (s *Service) CreateWebhook(ctx context.Context, w *ragd.Webhook) error {
	if err := s.destinations.Prepare(w); err != nil {
		return err
	}
	w.ID, w.Created = ragd.NewID("wh"), s.now().Unix()
	return s.write.CreateWebhook(ctx, w)
}

// DeleteWebhook deletes endpoint id of workspace ws with its deliveries.
func (s *Service) DeleteWebhook(ctx context.Context, ws, id string) error {
	return s.write.DeleteWebhook(ctx, ws, id)
}

// Webhooks returns a page of the endpoints of workspace ws.
func (s *Service) Webhooks(ctx context.Context, ws string, p ragd.Page) ([]*ragd.Webhook, bool, error) {
	return s.store.Webhooks(ctx, ws, p)
}

// Webhook returns endpoint id of workspace ws, or ENOTFOUND.
func (s *Service) Webhook(ctx context.Context, ws, id string) (*ragd.Webhook, error) {
	return s.store.Webhook(ctx, ws, id)
}

// Deliveries returns the latest limit deliveries of endpoint id, newest
// first.
func (s *Service) Deliveries(ctx context.Context, ws, id string, limit int) ([]*ragd.Delivery, error) {
	return s.store.Deliveries(ctx, ws, id, limit)
}

// EnqueueEvent implements webhook.Outbox: deliveries are node-local
// bookkeeping, outside the write seam.
func (s *Service) EnqueueEvent(ctx context.Context, ws, eventType, eventID string, payload []byte) (int, error) {
	return s.store.EnqueueEvent(ctx, ws, eventType, eventID, payload)
}

// DueDeliveries implements webhook.Outbox.
func (s *Service) DueDeliveries(ctx context.Context, now int64, limit int) ([]*ragd.Delivery, error) {
	return s.store.DueDeliveries(ctx, now, limit)
}

// NextDeliveryAt implements webhook.Outbox.
func (s *Service) NextDeliveryAt(ctx context.Context) (int64, bool, error) {
	return s.store.NextDeliveryAt(ctx)
}

// RecordDeliveryAttempt implements webhook.Outbox.
func (s *Service) RecordDeliveryAttempt(ctx context.Context, d *ragd.Delivery) error {
	return s.store.RecordDeliveryAttempt(ctx, d)
}
