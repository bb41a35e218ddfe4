package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/service"
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

type collectionCreateRequest struct {
	Name           string                  `json:"name"`
	Description    string                  `json:"description"`
	EmbeddingModel string                  `json:"embedding_model"`
	Dimensions     int                     `json:"dimensions"`
	Chunking       *service.ChunkingChange `json:"chunking"`
	Metadata       map[string]any          `json:"metadata"`
	Quantization   string                  `json:"quantization"`
}

type collectionResponse struct {
	Collection *ragd.Collection `json:"collection"`
}

type deletedResponse struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}

func (s *Server) handleCollectionCreate(c echo.Context) error {
	var req collectionCreateRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	col, err := s.svc.CreateCollection(c.Request().Context(), workspaceOf(c), service.NewCollection{Name: strings.TrimSpace(req.Name),
		Description: req.Description, EmbeddingModel: req.EmbeddingModel, Dimensions: req.Dimensions, Chunking: req.Chunking, Metadata: req.Metadata,
		Quantization: req.Quantization})
	if err != nil {
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
			return s.svc.Collections(ctx, ws, p)
		})
}

func (s *Server) handleCollectionGet(c echo.Context) error {
	col, err := s.svc.Collection(c.Request().Context(), workspaceOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, collectionResponse{col})
}

type collectionUpdateRequest struct {
	Name         *string        `json:"name"`
	Description  *string        `json:"description"`
	Metadata     map[string]any `json:"metadata"`
	Quantization *string        `json:"quantization"`
}

func (s *Server) handleCollectionUpdate(c echo.Context) error {
	var req collectionUpdateRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	if req.Name != nil {
		trimmed := strings.TrimSpace(*req.Name)
		req.Name = &trimmed
	}
	col, err := s.svc.UpdateCollection(c.Request().Context(), workspaceOf(c), c.Param("id"),
		ragd.CollectionUpdate{Name: req.Name, Description: req.Description, Metadata: req.Metadata, Quantization: req.Quantization})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, collectionResponse{col})
}

func (s *Server) handleCollectionDelete(c echo.Context) error {
	col, err := s.svc.DeleteCollection(c.Request().Context(), workspaceOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	// The deleted collection's id and name, whichever the URL named it by.
	s.publish(c, webhook.CollectionDeleted, map[string]any{"id": col.ID, "name": col.Name, "object": "collection", "deleted": true})
	return c.JSON(http.StatusOK, deletedResponse{ID: col.ID, Deleted: true})
}
