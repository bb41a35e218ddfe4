package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/webhook"
)

func (s *Server) registerCollectionRoutes(g *echo.Group) {
	g.POST("/vector_store", s.handleCollectionCreate)
	g.GET("/vector_store", s.handleCollectionList)
	g.GET("/vector_store/:id", s.handleCollectionGet)
	g.PUT("/vector_store/:id", s.handleCollectionUpdate)
	g.PATCH("/vector_store/:id", s.handleCollectionUpdate)
	g.DELETE("/vector_store/:id", s.handleCollectionDelete)
}

// Default chunk sizes of a new collection, capped by its embedder's limit.
const (
	defaultMaxTokens     = 512
	defaultOverlapTokens = 64
)

type chunkingRequest struct {
	MaxTokens     *int `json:"max_tokens"`
	OverlapTokens *int `json:"overlap_tokens"`
}

type collectionCreateRequest struct {
	Name           string           `json:"name"`
	Description    string           `json:"description"`
	EmbeddingModel string           `json:"embedding_model"`
	Chunking       *chunkingRequest `json:"chunking"`
	Metadata       map[string]any   `json:"metadata"`
}

type collectionResponse struct {
	Collection *ragd.Collection `json:"collection"`
}

type deletedResponse struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}

// resolveChunking applies defaults to req and checks the sizes against the
// embedder's input limit.
func resolveChunking(req *chunkingRequest, base ragd.Chunking, limit int) (ragd.Chunking, error) {
	out := base
	if req != nil {
		if req.MaxTokens != nil {
			out.MaxTokens = *req.MaxTokens
		}
		if req.OverlapTokens != nil {
			out.OverlapTokens = *req.OverlapTokens
		}
	}
	if out.MaxTokens < 1 || out.MaxTokens > limit {
		return out, ragd.Invalid("max_tokens", "max_tokens must be between 1 and %d (the embedding model's input limit), got %d", limit, out.MaxTokens)
	}
	if out.OverlapTokens < 0 || out.OverlapTokens >= out.MaxTokens {
		return out, ragd.Invalid("overlap_tokens", "overlap_tokens must be at least 0 and less than max_tokens (%d), got %d", out.MaxTokens, out.OverlapTokens)
	}
	return out, nil
}

func (s *Server) handleCollectionCreate(c echo.Context) error {
	var req collectionCreateRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	req.Name = strings.TrimSpace(req.Name)
	if err := ragd.ValidateCollectionName(req.Name); err != nil {
		return err
	}
	if err := ragd.ValidateText("description", req.Description, true); err != nil {
		return err
	}
	if err := ragd.ValidateMetadata("metadata", req.Metadata); err != nil {
		return err
	}
	emb := s.embedders.Default()
	if req.EmbeddingModel != "" {
		var err error
		if emb, err = s.embedders.Get(req.EmbeddingModel); err != nil {
			e := err.(*ragd.Error)
			e.Kind, e.Param = ragd.EINVALID, "embedding_model"
			return e
		}
	}
	limit := emb.MaxInputTokens()
	chunking, err := resolveChunking(req.Chunking, ragd.Chunking{
		MaxTokens: min(defaultMaxTokens, limit), OverlapTokens: min(defaultOverlapTokens, limit/4)}, limit)
	if err != nil {
		return err
	}
	col := &ragd.Collection{Workspace: workspaceOf(c), Name: req.Name, Description: req.Description,
		EmbeddingModel: emb.Name(), Dimensions: emb.Dimensions(), Chunking: chunking, Metadata: req.Metadata}
	if col.Metadata == nil {
		col.Metadata = map[string]any{}
	}
	if err := s.store.CreateCollection(c.Request().Context(), col); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, collectionResponse{col})
}

// page reads ?limit= (default 20, at most 100) and ?after=.
func page(c echo.Context) (ragd.Page, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return pageOf(nil, c.QueryParam("after"))
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return ragd.Page{}, ragd.Invalid("limit", "limit must be a whole number from 1 to 100, got %q", v)
	}
	return pageOf(&n, c.QueryParam("after"))
}

// pageOf checks a list's limit (nil: the default of 20, else 1 to 100)
// and cursor.
func pageOf(limit *int, after string) (ragd.Page, error) {
	p := ragd.Page{Limit: 20, After: after}
	if limit != nil {
		if *limit < 1 || *limit > 100 {
			return p, ragd.Invalid("limit", "limit must be a whole number from 1 to 100, got %d", *limit)
		}
		p.Limit = *limit
	}
	return p, nil
}

// listPage answers a paginated list request: the page that fetch returns,
// under key, with has_more and last_id (null for an empty page).
func listPage[T any](c echo.Context, key string, id func(T) string, fetch func(ctx context.Context, ws, colID string, p ragd.Page) ([]T, bool, error)) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	list, more, err := fetch(c.Request().Context(), workspaceOf(c), c.Param("id"), p)
	if err != nil {
		return err
	}
	var last *string
	if len(list) > 0 {
		v := id(list[len(list)-1])
		last = &v
	}
	if list == nil {
		list = []T{}
	}
	return c.JSON(http.StatusOK, map[string]any{key: list, "has_more": more, "last_id": last})
}

func (s *Server) handleCollectionList(c echo.Context) error {
	return listPage(c, "collections", func(c *ragd.Collection) string { return c.ID },
		func(ctx context.Context, ws, _ string, p ragd.Page) ([]*ragd.Collection, bool, error) {
			return s.store.Collections(ctx, ws, p)
		})
}

func (s *Server) handleCollectionGet(c echo.Context) error {
	col, err := s.store.Collection(c.Request().Context(), workspaceOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, collectionResponse{col})
}

type collectionUpdateRequest struct {
	Name        *string        `json:"name"`
	Description *string        `json:"description"`
	Metadata    map[string]any `json:"metadata"`
}

func (s *Server) handleCollectionUpdate(c echo.Context) error {
	var req collectionUpdateRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	if req.Name != nil {
		trimmed := strings.TrimSpace(*req.Name)
		if err := ragd.ValidateCollectionName(trimmed); err != nil {
			return err
		}
		req.Name = &trimmed
	}
	if req.Description != nil {
		if err := ragd.ValidateText("description", *req.Description, true); err != nil {
			return err
		}
	}
	if err := ragd.ValidateMetadata("metadata", req.Metadata); err != nil {
		return err
	}
	col, err := s.store.UpdateCollection(c.Request().Context(), workspaceOf(c), c.Param("id"),
		ragd.CollectionUpdate{Name: req.Name, Description: req.Description, Metadata: req.Metadata})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, collectionResponse{col})
}

func (s *Server) handleCollectionDelete(c echo.Context) error {
	col, files, err := s.store.DeleteCollection(c.Request().Context(), workspaceOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	if s.cfg.Ingester != nil {
		s.cfg.Ingester.Forget(files)
	}
	// The deleted collection's id and name, whichever the URL named it by.
	s.publish(c, webhook.CollectionDeleted, map[string]any{"id": col.ID, "name": col.Name, "object": "collection", "deleted": true})
	return c.JSON(http.StatusOK, deletedResponse{ID: col.ID, Deleted: true})
}
