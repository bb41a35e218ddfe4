package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/rerank"
)

func (s *Server) registerSearchRoutes(g *echo.Group) {
	g.POST("/vector_store/:id/search", s.handleSearch)
}

type searchRequest struct {
	Input          *string         `json:"input"`
	TopK           *int            `json:"top_k"`
	Mode           string          `json:"mode"`
	ScoreThreshold *float64        `json:"score_threshold"`
	Filter         *ragd.Filter    `json:"filter"`
	IncludeContent *bool           `json:"include_content"`
	Alpha          *float64        `json:"alpha"`
	Rerank         *rerank.Options `json:"rerank"`
}

type searchResponse struct {
	Results []ragd.SearchResult `json:"results"`
	Usage   usage               `json:"usage"`
}

// collectionEmbedder returns the embedder a collection was created with;
// if that model is no longer configured, searching it is EUNPROCESSABLE.
func (s *Server) collectionEmbedder(col *ragd.Collection) (embed.Embedder, error) {
	emb, err := s.embedders.Get(col.EmbeddingModel)
	if err != nil {
		return nil, &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "model_unavailable",
			Message: "collection " + col.ID + " was embedded with model " + strconv.Quote(col.EmbeddingModel) + ", which this server does not provide; configure it again"}
	}
	if emb.Dimensions() != col.Dimensions {
		return nil, &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "dimension_mismatch",
			Message: "model " + emb.Name() + " now returns " + itoa(emb.Dimensions()) + " dimensions but collection " + col.ID + " stores " + itoa(col.Dimensions)}
	}
	return emb, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// search runs one search of collection colID in workspace ws, embedding
// the query when the mode needs a vector and reranking the results when rk
// is not nil. It returns the results and the number of tokens the models
// read.
func (s *Server) search(ctx context.Context, ws, colID, input string, q ragd.SearchQuery, rk *reranking) ([]ragd.SearchResult, int, error) {
	col, err := s.store.Collection(ctx, ws, colID)
	if err != nil {
		return nil, 0, err
	}
	q.Text = input
	tokens := 0
	if q.Mode != ragd.ModeKeyword {
		emb, err := s.collectionEmbedder(col)
		if err != nil {
			return nil, 0, err
		}
		vecs, err := emb.Embed(ctx, []string{input})
		if err != nil {
			return nil, 0, err
		}
		q.Vector = vecs[0]
		tokens = countTokens(input)
	}
	res, err := s.store.Search(ctx, ws, colID, q)
	if err != nil || rk == nil {
		return res, tokens, err
	}
	res, n, err := rk.apply(ctx, input, res)
	return res, tokens + n, err
}

func (s *Server) handleSearch(c echo.Context) error {
	var req searchRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	if req.Input == nil || strings.TrimSpace(*req.Input) == "" {
		return ragd.Invalid("input", "input is required: the text to search for")
	}
	q := ragd.SearchQuery{TopK: 10, Mode: ragd.ModeHybrid, ScoreThreshold: req.ScoreThreshold, Filter: req.Filter, Alpha: req.Alpha}
	if req.TopK != nil {
		q.TopK = *req.TopK
	}
	if req.Mode != "" {
		q.Mode = req.Mode
	}
	switch q.Mode {
	case ragd.ModeHybrid, ragd.ModeVector, ragd.ModeKeyword:
	default:
		return ragd.Invalid("mode", "unknown search mode %q; use hybrid, vector or keyword", q.Mode)
	}
	if q.TopK < 1 || q.TopK > ragd.MaxTopK {
		return ragd.Invalid("top_k", "top_k must be between 1 and %d, got %d", ragd.MaxTopK, q.TopK)
	}
	if req.Rerank != nil {
		if err := req.Rerank.Validate("rerank", q.TopK, ragd.MaxTopK); err != nil {
			return err
		}
	}
	rk, err := s.newReranking("rerank", req.Rerank, &q)
	if err != nil {
		return err
	}
	if q.Mode != ragd.ModeKeyword {
		if err := s.reserveTokens(c, countTokens(*req.Input)); err != nil {
			return err
		}
	}
	res, tokens, err := s.search(c.Request().Context(), workspaceOf(c), c.Param("id"), *req.Input, q, rk)
	if err != nil {
		return err
	}
	if req.IncludeContent != nil && !*req.IncludeContent {
		for i := range res {
			res[i].Content = ""
		}
	}
	return c.JSON(http.StatusOK, searchResponse{Results: res, Usage: newUsage(tokens)})
}
