package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/rerank"
	"github.com/ragd/ragd/service"
)

func (s *Server) registerSearchRoutes(g *echo.Group) {
	g.POST("/vector_store/:id/search", s.handleSearch)
}

type searchRequest struct {
	Input          *string         `json:"input"`
	Vector         service.Vector  `json:"vector"`
	TopK           *int            `json:"top_k"`
	Mode           string          `json:"mode"`
	ScoreThreshold *float64        `json:"score_threshold"`
	Filter         *ragd.Filter    `json:"filter"`
	IncludeContent *bool           `json:"include_content"`
	Alpha          *float64        `json:"alpha"`
	Exact          bool            `json:"exact"`
	Rerank         *rerank.Options `json:"rerank"`
}

type searchResponse struct {
	Results []ragd.SearchResult `json:"results"`
	Usage   usage               `json:"usage"`
}

func (s *Server) handleSearch(c echo.Context) error {
	var req searchRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	r := service.SearchRequest{Vector: req.Vector, Query: ragd.SearchQuery{TopK: 10, Mode: ragd.ModeHybrid, ScoreThreshold: req.ScoreThreshold,
		Filter: req.Filter, Alpha: req.Alpha, Exact: req.Exact}, Rerank: req.Rerank, Param: "rerank"}
	if req.Input != nil {
		r.Input = *req.Input
	}
	if req.TopK != nil {
		r.Query.TopK = *req.TopK
	}
	if req.Mode != "" {
		r.Query.Mode = req.Mode
	}
	if r.Query.Mode != ragd.ModeKeyword && req.Vector == nil {
		if err := s.reserveTokens(c, service.CountTokens(r.Input)); err != nil {
			return err
		}
	}
	res, tokens, err := s.svc.Search(c.Request().Context(), workspaceOf(c), c.Param("id"), r)
	if err != nil {
		return err
	}
	if req.IncludeContent != nil && !*req.IncludeContent {
		for i := range res {
			res[i].Content = ""
		}
	}
	return c.JSON(http.StatusOK, searchResponse{Results: res, Usage: embeddingUsage(c, tokens)})
}
