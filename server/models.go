package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
)

func (s *Server) registerModelRoutes(g *echo.Group) {
	g.GET("/models", s.handleModelList)
	g.GET("/models/:model", s.handleModelGet)
	g.GET("/chat/models", s.handleChatModels)
}

// modelObject is OpenAI's model object with ragd's additions.
type modelObject struct {
	ID            string `json:"id"`
	Object        string `json:"object"`
	Created       int64  `json:"created"`
	OwnedBy       string `json:"owned_by"`
	Type          string `json:"type"`
	ContextWindow int    `json:"context_window"`
	Dimensions    int    `json:"dimensions,omitempty"`
	Default       bool   `json:"default,omitempty"`
	Description   string `json:"description,omitempty"`
	// Price is the model's price in credits, when it has one.
	Price *ragd.Price `json:"price,omitempty"`
}

type modelListResponse struct {
	Object string        `json:"object"`
	Data   []modelObject `json:"data"`
}

// models lists every model this server offers.
func (s *Server) models() []modelObject {
	var out []modelObject
	for _, m := range s.svc.ChatModels().Models() {
		out = append(out, modelObject{ID: m.ID, Object: "model", OwnedBy: m.Provider, Type: "chat",
			ContextWindow: m.ContextWindow, Default: m.ID == s.svc.ChatModels().DefaultModel(), Description: m.Description})
	}
	def := s.svc.Embedders().Default().Name()
	for _, e := range s.svc.Embedders().List() {
		out = append(out, modelObject{ID: e.Name(), Object: "model", OwnedBy: "ragd", Type: "embedding",
			ContextWindow: e.MaxInputTokens(), Dimensions: e.Dimensions(), Default: e.Name() == def,
			Description: embed.Describe(e.Name())})
	}
	for _, r := range s.svc.Rerankers().List() {
		out = append(out, modelObject{ID: r.Name(), Object: "model", OwnedBy: r.(providerNamer).Provider(), Type: "rerank"})
	}
	for i := range out {
		if p, ok := s.cfg.Prices[out[i].ID]; ok {
			out[i].Price = &p
		}
	}
	return out
}

func (s *Server) handleModelList(c echo.Context) error {
	return c.JSON(http.StatusOK, modelListResponse{Object: "list", Data: s.models()})
}

func (s *Server) handleModelGet(c echo.Context) error {
	id := c.Param("model")
	for _, m := range s.models() {
		if m.ID == id {
			return c.JSON(http.StatusOK, m)
		}
	}
	return &ragd.Error{Kind: ragd.ENOTFOUND, Code: "model_not_found", Param: "model", Message: "model " + id + " is not available; GET /v1/models lists the available ones"}
}

// chatModelsResponse is seed 002's list of chat models. ragd's models are
// configured for the whole server, so private_models (a workspace's own
// models) is always empty.
type chatModelsResponse struct {
	Models        []modelObject `json:"models"`
	PrivateModels []modelObject `json:"private_models"`
}

// handleChatModels lists the chat models, each as GET /v1/models shows it.
func (s *Server) handleChatModels(c echo.Context) error {
	resp := chatModelsResponse{Models: []modelObject{}, PrivateModels: []modelObject{}}
	for _, m := range s.models() {
		if m.Type == "chat" {
			resp.Models = append(resp.Models, m)
		}
	}
	return c.JSON(http.StatusOK, resp)
}
