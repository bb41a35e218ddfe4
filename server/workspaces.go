package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd/store"
)

func (s *Server) registerWorkspaceRoutes(g *echo.Group) {
	g.GET("/workspaces", s.handleWorkspaceList)
}

type workspaceListResponse struct {
	Workspaces []*store.Workspace `json:"workspaces"`
}

// handleWorkspaceList lists the workspaces the key can use: its own.
func (s *Server) handleWorkspaceList(c echo.Context) error {
	w, err := s.store.Workspace(c.Request().Context(), workspaceOf(c))
	if err != nil {
		// The env admin key's workspace exists before anything is written.
		w = &store.Workspace{Name: workspaceOf(c)}
	}
	return c.JSON(http.StatusOK, workspaceListResponse{[]*store.Workspace{w}})
}
