package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/service"
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

type usage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

type itemResponse struct {
	Item  *ragd.Item `json:"item"`
	Usage *usage     `json:"usage,omitempty"`
}

type itemsResponse struct {
	Items []*ragd.Item `json:"items"`
	Usage usage        `json:"usage"`
}

// addItems reserves the tokens embedding items will use and adds them
// through the service.
func (s *Server) addItems(c echo.Context, items []service.ItemInput, batch bool) ([]*ragd.Item, service.Tokens, error) {
	if err := s.reserveTokens(c, service.ItemTokens(items)); err != nil {
		return nil, nil, err
	}
	return s.svc.AddItems(c.Request().Context(), workspaceOf(c), c.Param("id"), items, batch)
}

func (s *Server) handleItemCreate(c echo.Context) error {
	var req service.ItemInput
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	items, tokens, err := s.addItems(c, []service.ItemInput{req}, false)
	if err != nil {
		return err
	}
	u := embeddingUsage(c, tokens)
	return c.JSON(http.StatusCreated, itemResponse{Item: items[0], Usage: &u})
}

type itemBatchRequest struct {
	Items []service.ItemInput `json:"items"`
}

func (s *Server) handleItemBatch(c echo.Context) error {
	body, err := readBody(c, s.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	in, ok := readItemBatch(body)
	if !ok {
		var req itemBatchRequest
		if err := decodeBody(body, true, &req); err != nil {
			return err
		}
		in = req.Items
	}
	items, tokens, err := s.addItems(c, in, true)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, itemsResponse{Items: items, Usage: embeddingUsage(c, tokens)})
}

func (s *Server) handleItemList(c echo.Context) error {
	return listPage(c, "items", func(it *ragd.Item) string { return it.ID }, s.svc.Items)
}

func (s *Server) handleItemGet(c echo.Context) error {
	it, err := s.svc.Item(c.Request().Context(), workspaceOf(c), c.Param("id"), c.Param("itemid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, itemResponse{Item: it})
}

func (s *Server) handleItemUpdate(c echo.Context) error {
	var req service.ItemInput
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	if req.Content != nil {
		if err := s.reserveTokens(c, service.CountTokens(*req.Content)); err != nil {
			return err
		}
	}
	it, tokens, err := s.svc.UpdateItem(c.Request().Context(), workspaceOf(c), c.Param("id"), c.Param("itemid"), req)
	if err != nil {
		return err
	}
	us := embeddingUsage(c, tokens)
	return c.JSON(http.StatusOK, itemResponse{Item: it, Usage: &us})
}

func (s *Server) handleItemDelete(c echo.Context) error {
	id := c.Param("itemid")
	if err := s.svc.DeleteItem(c.Request().Context(), workspaceOf(c), c.Param("id"), id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, deletedResponse{ID: id, Deleted: true})
}
