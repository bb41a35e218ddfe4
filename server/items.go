package server

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

func (s *Server) registerItemRoutes(g *echo.Group) {
	g.POST("/vector_store/:id/items", s.handleItemCreate)
	g.POST("/vector_store/:id/items/batch", s.handleItemBatch)
	g.GET("/vector_store/:id/items", s.handleItemList)
	g.GET("/vector_store/:id/items/:itemid", s.handleItemGet)
	g.PUT("/vector_store/:id/items/:itemid", s.handleItemUpdate)
	g.PATCH("/vector_store/:id/items/:itemid", s.handleItemUpdate)
	g.DELETE("/vector_store/:id/items/:itemid", s.handleItemDelete)
}

// MaxBatchItems is the most items one batch request may add.
const MaxBatchItems = 1000

type itemRequest struct {
	Content     *string        `json:"content"`
	Description *string        `json:"description"`
	Metadata    map[string]any `json:"metadata"`
}

type usage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

func newUsage(tokens int) usage { return usage{PromptTokens: tokens, TotalTokens: tokens} }

type itemResponse struct {
	Item  *ragd.Item `json:"item"`
	Usage *usage     `json:"usage,omitempty"`
}

type itemsResponse struct {
	Items []*ragd.Item `json:"items"`
	Usage usage        `json:"usage"`
}

// newItem validates one item of a request; param prefixes field names.
func newItem(req itemRequest, param string) (ragd.NewItem, error) {
	if req.Content == nil || strings.TrimSpace(*req.Content) == "" {
		return ragd.NewItem{}, ragd.Invalid(param+"content", "content is required and must not be empty")
	}
	if !utf8.ValidString(*req.Content) {
		return ragd.NewItem{}, ragd.Invalid(param+"content", "content must be valid UTF-8 text")
	}
	if err := ragd.ValidateMetadata(param+"metadata", req.Metadata); err != nil {
		return ragd.NewItem{}, err
	}
	ni := ragd.NewItem{Content: *req.Content, Metadata: req.Metadata}
	if req.Description != nil {
		if err := ragd.ValidateText(param+"description", *req.Description, true); err != nil {
			return ragd.NewItem{}, err
		}
		ni.Description = *req.Description
	} else {
		ni.Description = ingest.Describe(ni.Content)
	}
	return ni, nil
}

// addItems chunks, embeds and stores items in the request's collection.
func (s *Server) addItems(c echo.Context, items []ragd.NewItem) ([]*ragd.Item, int, error) {
	ctx, ws, colID := c.Request().Context(), workspaceOf(c), c.Param("id")
	col, err := s.store.Collection(ctx, ws, colID)
	if err != nil {
		return nil, 0, err
	}
	emb, err := s.collectionEmbedder(col)
	if err != nil {
		return nil, 0, err
	}
	if err := s.reserveContentTokens(c, items); err != nil {
		return nil, 0, err
	}
	items, tokens, err := ingest.PrepareItems(ctx, emb, col.Chunking, items)
	if err != nil {
		return nil, 0, err
	}
	stored, err := s.store.InsertItems(ctx, ws, colID, items)
	return stored, tokens, err
}

// reserveContentTokens reserves the tokens of the items' contents, which
// embedding them will use (a little more where chunks overlap; the
// difference is settled when the request ends).
func (s *Server) reserveContentTokens(c echo.Context, items []ragd.NewItem) error {
	n := 0
	for _, it := range items {
		n += countTokens(it.Content)
	}
	return s.reserveTokens(c, n)
}

func (s *Server) handleItemCreate(c echo.Context) error {
	var req itemRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	ni, err := newItem(req, "")
	if err != nil {
		return err
	}
	items, tokens, err := s.addItems(c, []ragd.NewItem{ni})
	if err != nil {
		return err
	}
	u := newUsage(tokens)
	return c.JSON(http.StatusCreated, itemResponse{Item: items[0], Usage: &u})
}

type itemBatchRequest struct {
	Items []itemRequest `json:"items"`
}

func (s *Server) handleItemBatch(c echo.Context) error {
	var req itemBatchRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	if len(req.Items) == 0 {
		return ragd.Invalid("items", "items must be a non-empty array")
	}
	if len(req.Items) > MaxBatchItems {
		return ragd.Invalid("items", "a batch holds at most %d items, got %d; split it", MaxBatchItems, len(req.Items))
	}
	nis := make([]ragd.NewItem, len(req.Items))
	for i, r := range req.Items {
		var err error
		if nis[i], err = newItem(r, "items["+itoa(i)+"]."); err != nil {
			return err
		}
	}
	items, tokens, err := s.addItems(c, nis)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, itemsResponse{Items: items, Usage: newUsage(tokens)})
}

func (s *Server) handleItemList(c echo.Context) error {
	return listPage(c, "items", func(it *ragd.Item) string { return it.ID }, s.store.Items)
}

func (s *Server) handleItemGet(c echo.Context) error {
	it, err := s.store.Item(c.Request().Context(), workspaceOf(c), c.Param("id"), c.Param("itemid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, itemResponse{Item: it})
}

func (s *Server) handleItemUpdate(c echo.Context) error {
	var req itemRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	if err := ragd.ValidateMetadata("metadata", req.Metadata); err != nil {
		return err
	}
	if req.Description != nil {
		if err := ragd.ValidateText("description", *req.Description, true); err != nil {
			return err
		}
	}
	ctx, ws, colID := c.Request().Context(), workspaceOf(c), c.Param("id")
	u := ragd.ItemUpdate{Description: req.Description, Metadata: req.Metadata}
	tokens := 0
	if req.Content != nil {
		ni, err := newItem(req, "")
		if err != nil {
			return err
		}
		col, err := s.store.Collection(ctx, ws, colID)
		if err != nil {
			return err
		}
		emb, err := s.collectionEmbedder(col)
		if err != nil {
			return err
		}
		if err := s.reserveContentTokens(c, []ragd.NewItem{ni}); err != nil {
			return err
		}
		prepared, n, err := ingest.PrepareItems(ctx, emb, col.Chunking, []ragd.NewItem{ni})
		if err != nil {
			return err
		}
		u.Content, u.Chunks, tokens = &ni.Content, prepared[0].Chunks, n
	}
	it, err := s.store.UpdateItem(ctx, ws, colID, c.Param("itemid"), u)
	if err != nil {
		return err
	}
	us := newUsage(tokens)
	return c.JSON(http.StatusOK, itemResponse{Item: it, Usage: &us})
}

func (s *Server) handleItemDelete(c echo.Context) error {
	id := c.Param("itemid")
	if err := s.store.DeleteItem(c.Request().Context(), workspaceOf(c), c.Param("id"), id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, deletedResponse{ID: id, Deleted: true})
}
