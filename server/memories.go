package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
)

// What ragd remembers of the end users (x-user-id) of a workspace: list,
// search, and forget (the right to be forgotten).

func (s *Server) registerMemoryRoutes(g *echo.Group) {
	g.GET("/users/:user/memories", s.handleMemoryList)
	g.POST("/users/:user/memories/search", s.handleMemorySearch)
	g.DELETE("/users/:user/memories", s.handleMemoryForget)
	g.DELETE("/users/:user/memories/:id", s.handleMemoryDelete)
}

type memoriesResponse struct {
	Memories []ragd.Memory `json:"memories"`
}

func (s *Server) handleMemoryList(c echo.Context) error {
	m, err := s.svc.Memories(c.Request().Context(), workspaceOf(c), c.Param("user"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, memoriesResponse{m})
}

func (s *Server) handleMemorySearch(c echo.Context) error {
	req := struct {
		Query string `json:"query"`
		TopK  int    `json:"top_k"`
	}{TopK: 5}
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	m, err := s.svc.SearchMemories(c.Request().Context(), workspaceOf(c), c.Param("user"), req.Query, req.TopK)
	if err != nil {
		return err
	}
	if m == nil {
		m = []ragd.Memory{}
	}
	return c.JSON(http.StatusOK, memoriesResponse{m})
}

func (s *Server) handleMemoryForget(c echo.Context) error {
	n, err := s.svc.ForgetMemories(c.Request().Context(), workspaceOf(c), c.Param("user"), "")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"user_id": c.Param("user"), "deleted": n})
}

func (s *Server) handleMemoryDelete(c echo.Context) error {
	id := c.Param("id")
	if _, err := s.svc.ForgetMemories(c.Request().Context(), workspaceOf(c), c.Param("user"), id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, deletedResponse{ID: id, Deleted: true})
}
