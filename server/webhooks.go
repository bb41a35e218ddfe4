package server

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/webhook"
)

func (s *Server) registerWebhookRoutes(g *echo.Group) {
	g.POST("/webhooks", s.handleWebhookCreate, requireAdmin)
	g.GET("/webhooks", s.handleWebhookList, requireAdmin)
	g.GET("/webhooks/:id", s.handleWebhookGet, requireAdmin)
	g.DELETE("/webhooks/:id", s.handleWebhookDelete, requireAdmin)
	g.GET("/webhooks/:id/deliveries", s.handleWebhookDeliveries, requireAdmin)
}

// Events returns the publisher of webhook events, for the ingest pool
// (file.completed, file.failed) and other producers.
func (s *Server) Events() webhook.Publisher { return s.webhooks }

type webhookCreateRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Secret string   `json:"secret"`
}

type webhookResponse struct {
	Webhook *ragd.Webhook `json:"webhook"`
}

// handleWebhookCreate registers an endpoint; the response shows its
// secret, the only time it is shown.
func (s *Server) handleWebhookCreate(c echo.Context) error {
	var req webhookCreateRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	w := &ragd.Webhook{Workspace: workspaceOf(c), URL: req.URL, Events: req.Events, Secret: req.Secret}
	if err := s.svc.CreateWebhook(c.Request().Context(), w); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, webhookResponse{shownWebhook(w)})
}

// shownWebhook is w as the API shows it: credentials in its URL are
// never echoed (the secret is shown by the create answer only).
func shownWebhook(w *ragd.Webhook) *ragd.Webhook {
	c := *w
	c.URL = webhook.RedactURL(w.URL)
	return &c
}

func (s *Server) handleWebhookList(c echo.Context) error {
	return listPage(c, "webhooks", func(w *ragd.Webhook) string { return w.ID },
		func(ctx context.Context, ws, _ string, p ragd.Page) ([]*ragd.Webhook, bool, error) {
			list, more, err := s.svc.Webhooks(ctx, ws, p)
			for i, w := range list {
				list[i] = shownWebhook(w)
			}
			return list, more, err
		})
}

func (s *Server) handleWebhookGet(c echo.Context) error {
	w, err := s.svc.Webhook(c.Request().Context(), workspaceOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, webhookResponse{shownWebhook(w)})
}

func (s *Server) handleWebhookDelete(c echo.Context) error {
	id := c.Param("id")
	if err := s.svc.DeleteWebhook(c.Request().Context(), workspaceOf(c), id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, deletedResponse{ID: id, Deleted: true})
}

type deliveryListResponse struct {
	Deliveries []*ragd.Delivery `json:"deliveries"`
}

// handleWebhookDeliveries is the endpoint's delivery log, newest first.
func (s *Server) handleWebhookDeliveries(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	list, err := s.svc.Deliveries(c.Request().Context(), workspaceOf(c), c.Param("id"), p.Limit)
	if err != nil {
		return err
	}
	if list == nil {
		list = []*ragd.Delivery{}
	}
	return c.JSON(http.StatusOK, deliveryListResponse{list})
}

// publish queues a webhook event of the request's workspace; a failure
// to queue is logged, not returned, since the change it reports is done.
func (s *Server) publish(c echo.Context, typ string, data any) {
	if err := s.webhooks.Publish(c.Request().Context(), workspaceOf(c), typ, data); err != nil {
		s.log.Error("publishing webhook event", "type", typ, "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
	}
}
