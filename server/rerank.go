package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/rerank"
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
	rr, err := s.rerankers.Get("model", req.Model)
	if err != nil {
		return err
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
	order, scores, tokens, err := rank(c.Request().Context(), rr, *req.Query, docs)
	if err != nil {
		return err
	}
	resp := rerankResponse{ID: uuid.NewString(), Model: rr.Name(), Results: make([]rerankResult, n), Usage: newUsage(tokens)}
	for i, idx := range order[:n] {
		resp.Results[i] = rerankResult{Index: idx, RelevanceScore: scores[idx]}
		if req.ReturnDocuments {
			resp.Results[i].Document = &rerankDocument{Text: docs[idx]}
		}
	}
	return c.JSON(http.StatusOK, resp)
}

// rank scores docs against query with rr. It returns the document indexes
// best first (ties keep their input order), the scores in input order and
// the tokens read: the query and every document, counted like embedding
// input.
func rank(ctx context.Context, rr rerank.Reranker, query string, docs []string) ([]int, []float64, int, error) {
	scores, err := rr.Rerank(ctx, query, docs)
	if err != nil {
		return nil, nil, 0, err
	}
	order := make([]int, len(docs))
	tokens := countTokens(query)
	for i, d := range docs {
		order[i] = i
		tokens += countTokens(d)
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	return order, scores, tokens, nil
}

// reranking is the validated rerank step of one search: the model and
// how many results it keeps.
type reranking struct {
	model rerank.Reranker
	topN  int
}

// newReranking resolves the rerank options o of a search, already
// validated, whose fields are named prefix + ".model" etc., and widens q
// to retrieve the candidates. It returns nil when o is nil.
func (s *Server) newReranking(prefix string, o *rerank.Options, q *ragd.SearchQuery) (*reranking, error) {
	if o == nil {
		return nil, nil
	}
	rr, err := s.rerankers.Get(prefix+".model", o.Model)
	if err != nil {
		return nil, err
	}
	q.TopK = *o.Candidates
	return &reranking{model: rr, topN: *o.TopN}, nil
}

// apply reorders res (with their content) by the model's relevance to
// query, keeps the topN best with their rerank_score, and returns them
// with the tokens the model read.
func (rk *reranking) apply(ctx context.Context, query string, res []ragd.SearchResult) ([]ragd.SearchResult, int, error) {
	if len(res) == 0 {
		return res, 0, nil
	}
	docs := make([]string, len(res))
	for i, r := range res {
		docs[i] = r.Content
	}
	order, scores, tokens, err := rank(ctx, rk.model, query, docs)
	if err != nil {
		return nil, 0, err
	}
	out := make([]ragd.SearchResult, 0, min(rk.topN, len(res)))
	for _, idx := range order[:cap(out)] {
		r := res[idx]
		r.RerankScore = &scores[idx]
		out = append(out, r)
	}
	return out, tokens, nil
}
