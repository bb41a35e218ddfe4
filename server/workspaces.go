package server

import (
	"context"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd/store"
)

func (s *Server) registerWorkspaceRoutes(g *echo.Group) {
	g.GET("/workspaces", s.handleWorkspaceList)
}

// handleWorkspaceList lists the workspaces the key can use: its own, so
// the list is one page of one, paginated like every list.
func (s *Server) handleWorkspaceList(c echo.Context) error {
	return listPage(c, "workspaces", func(w *store.Workspace) string { return w.Name },
		func(ctx context.Context, ws, _ string, p store.Page) ([]*store.Workspace, bool, error) {
			switch p.After {
			case "":
			case ws:
				return nil, false, nil
			default:
				return nil, false, store.InvalidCursor(p.After)
			}
			w, err := s.store.Workspace(ctx, ws)
			if err != nil {
				// The env admin key's workspace exists before anything is written.
				w = &store.Workspace{Name: ws}
			}
			return []*store.Workspace{w}, false, nil
		})
}
