package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
)

type statusResponse struct {
	Status string `json:"status"`
}

// handleHealthz answers while the process serves, for liveness probes.
func (s *Server) handleHealthz(c echo.Context) error {
	return c.JSON(http.StatusOK, statusResponse{"ok"})
}

// handleReadyz answers ok once the database answers, for readiness probes.
func (s *Server) handleReadyz(c echo.Context) error {
	if err := s.store.Ping(c.Request().Context()); err != nil {
		return &ragd.Error{Kind: ragd.EUNAVAILABLE, Code: "database_unavailable", Message: "the database does not answer", Err: err}
	}
	return c.JSON(http.StatusOK, statusResponse{"ok"})
}
