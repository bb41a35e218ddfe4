package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/service"
)

func (s *Server) registerRerankRoutes(g *echo.Group) {
	g.POST("/rerank", s.handleRerank)
}

// Defaults of the /v1/rerank limits (Config.MaxRerankDocuments and
// MaxRerankBytes).
const (
	// DefaultMaxRerankDocuments is Cohere's limit of documents per call.
	DefaultMaxRerankDocuments = 1000
	// DefaultMaxRerankBytes bounds the query and documents together: 1000
	// documents of 8 KiB, about as much as a reranker reads of each.
	DefaultMaxRerankBytes = 8 << 20
)

// rerankRequest is the de-facto rerank request of Cohere, Jina, TEI's
// router and vLLM.
type rerankRequest struct {
	Model           string            `json:"model"`
	Query           *string           `json:"query"`
	Documents       []json.RawMessage `json:"documents"`
	TopN            *int              `json:"top_n"`
	ReturnDocuments bool              `json:"return_documents"`
}

type rerankDocument struct {
	Text string `json:"text"`
}

type rerankResult struct {
	Index          int             `json:"index"`
	RelevanceScore float64         `json:"relevance_score"`
	Document       *rerankDocument `json:"document,omitempty"`
}

type rerankResponse struct {
	ID      string         `json:"id"`
	Model   string         `json:"model"`
	Results []rerankResult `json:"results"`
	Usage   usage          `json:"usage"`
}

// parseDocuments reads documents given as strings or {"text"} objects.
func parseDocuments(raw []json.RawMessage) ([]string, error) {
	docs := make([]string, len(raw))
	for i, r := range raw {
		var text string
		if err := json.Unmarshal(r, &text); err != nil {
			var d struct {
				Text *string `json:"text"`
			}
			dec := json.NewDecoder(bytes.NewReader(r))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&d); err != nil || d.Text == nil {
				return nil, ragd.Invalid("documents", `documents[%d] must be a string or an object {"text": "..."}`, i)
			}
			text = *d.Text
		}
		if strings.TrimSpace(text) == "" {
			return nil, ragd.Invalid("documents", "documents[%d] is empty; send the text to rank", i)
		}
		docs[i] = text
	}
	return docs, nil
}

// handleRerank scores documents against a query with a rerank model and
// returns them best first.
func (s *Server) handleRerank(c echo.Context) error {
	var req rerankRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	if req.Model == "" {
		return ragd.Invalid("model", "model is required: a rerank model (GET /v1/models lists those of type rerank)")
	}
	if req.Query == nil || strings.TrimSpace(*req.Query) == "" {
		return ragd.Invalid("query", "query is required: the text to rank the documents against")
	}
	if len(req.Documents) == 0 || len(req.Documents) > s.cfg.MaxRerankDocuments {
		return ragd.Invalid("documents", "documents must hold between 1 and %d documents (--max-rerank-documents), got %d", s.cfg.MaxRerankDocuments, len(req.Documents))
	}
	docs, err := parseDocuments(req.Documents)
	if err != nil {
		return err
	}
	size := len(*req.Query)
	for _, d := range docs {
		size += len(d)
	}
	if int64(size) > s.cfg.MaxRerankBytes {
		return &ragd.Error{Kind: ragd.ETOOLARGE, Param: "documents",
			Message: fmt.Sprintf("the query and documents hold %d bytes, more than the limit of %d (--max-rerank-bytes); send fewer or shorter documents", size, s.cfg.MaxRerankBytes)}
	}
	n := len(docs)
	if req.TopN != nil {
		if *req.TopN < 1 {
			return ragd.Invalid("top_n", "top_n must be at least 1, got %d", *req.TopN)
		}
		n = min(*req.TopN, n)
	}
	model, order, scores, tokens, err := s.svc.Rerank(c.Request().Context(), req.Model, *req.Query, docs)
	if err != nil {
		return err
	}
	resp := rerankResponse{ID: uuid.NewString(), Model: model, Results: make([]rerankResult, n), Usage: embeddingUsage(c, service.Tokens{}.Add(model, tokens))}
	for i, idx := range order[:n] {
		resp.Results[i] = rerankResult{Index: idx, RelevanceScore: scores[idx]}
		if req.ReturnDocuments {
			resp.Results[i].Document = &rerankDocument{Text: docs[idx]}
		}
	}
	return c.JSON(http.StatusOK, resp)
}
