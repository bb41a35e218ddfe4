package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd/rag"
	"github.com/ragd/ragd/service"
)

func (s *Server) registerResponsesRoutes(g *echo.Group) {
	g.POST("/responses", s.handleResponse)
}

// handleResponse answers OpenAI's Responses API: with the file_search
// tool ragd searches the vector stores itself and the chat model answers
// from the results; without tools the request goes to the chat model.
// Responses are not stored (the response says "store": false).
func (s *Server) handleResponse(c echo.Context) error {
	body, err := readBody(c, s.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	req, err := rag.ParseResponsesRequest(body)
	if err != nil {
		return err
	}
	if err := s.reserveTokens(c, req.ExpectedTokens()); err != nil {
		return err
	}
	res, st, err := s.svc.Respond(c.Request().Context(), workspaceOf(c), req, func(t service.Tokens) { addModelTokens(c, t) })
	switch {
	case err != nil:
		return err
	case st != nil:
		s.stream(c, st.Chat, func(w *echo.Response) error { return rag.WriteResponseEvents(w, w.Flush, st) })
		return nil
	}
	s.settle(c, res.Chat)
	return c.JSON(http.StatusOK, res.Response)
}
