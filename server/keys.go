package server

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
)

func (s *Server) registerKeyRoutes(g *echo.Group) {
	g.POST("/keys", s.handleKeyCreate, requireAdmin)
	g.GET("/keys", s.handleKeyList, requireAdmin)
	g.DELETE("/keys/:id", s.handleKeyRevoke, requireAdmin)
}

type keyCreateRequest struct {
	Name      string `json:"name"`
	Workspace string `json:"workspace"`
	Admin     bool   `json:"admin"`
	RPM       int    `json:"rpm"`
	TPM       int    `json:"tpm"`
}

type keyResponse struct {
	Key *ragd.Key `json:"key"`
}

func (s *Server) handleKeyCreate(c echo.Context) error {
	var req keyCreateRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	k := &ragd.Key{Name: req.Name, Workspace: req.Workspace, Admin: req.Admin, RPM: req.RPM, TPM: req.TPM}
	if err := s.svc.CreateKey(c.Request().Context(), k); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, keyResponse{k})
}

// handleKeyList lists the live keys of every workspace: keys are the
// operator's, managed with an admin key.
func (s *Server) handleKeyList(c echo.Context) error {
	return listPage(c, "keys", func(k *ragd.Key) string { return k.ID },
		func(ctx context.Context, _, _ string, p ragd.Page) ([]*ragd.Key, bool, error) {
			return s.svc.Keys(ctx, p)
		})
}

func (s *Server) handleKeyRevoke(c echo.Context) error {
	id := c.Param("id")
	if err := s.svc.RevokeKey(c.Request().Context(), id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, deletedResponse{ID: id, Deleted: true})
}
