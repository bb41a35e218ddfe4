package server

import (
	"context"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
)

func (s *Server) registerWorkspaceRoutes(g *echo.Group) {
	g.GET("/workspaces", s.handleWorkspaceList)
}

// handleWorkspaceList lists the workspaces the key can use: its own, so
// the list is one page of one, paginated like every list.
func (s *Server) handleWorkspaceList(c echo.Context) error {
	return listPage(c, "workspaces", func(w *ragd.Workspace) string { return w.Name },
		func(ctx context.Context, ws, _ string, p ragd.Page) ([]*ragd.Workspace, bool, error) {
			switch p.After {
			case "":
			case ws:
				return nil, false, nil
			default:
				return nil, false, ragd.InvalidCursor(p.After)
			}
			w, err := s.svc.Workspace(ctx, ws)
			if err != nil {
				// The env admin key's workspace exists before anything is written.
				w = &ragd.Workspace{Name: ws}
			}
			return []*ragd.Workspace{w}, false, nil
		})
}
