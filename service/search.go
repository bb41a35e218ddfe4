package service

import (
	"context"
	"sort"
	"strings"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/rag"
	"github.com/ragd/ragd/rerank"
	"github.com/ragd/ragd/tokenize"
)

// CountTokens counts text in cl100k_base, ragd's unit of usage whatever
// model reads the text.
func CountTokens(text string) int { return tokenize.MustGet(tokenize.CL100K).Count(text) }

// SearchRequest is one search of a collection.
type SearchRequest struct {
	// Input is the query text.
	Input string
	// Vector, when set, is the query's own vector, used by vector and
	// hybrid search instead of embedding Input.
	Vector Vector
	// Query holds the mode, top_k, filter, alpha and threshold; its Text
	// and Vector are set by Search.
	Query ragd.SearchQuery
	// Rerank, when set, reorders the results with a rerank model; its
	// fields are named Param + ".model" etc. in errors.
	Rerank *rerank.Options
	// Param names the rerank options in errors ("rerank",
	// "retrieval.rerank").
	Param string
}

// Search validates r and searches collection colID of workspace ws:
// it embeds the query when the mode needs a vector and the request brings
// none, and reranks when asked, or with the default rerank
// (Config.DefaultRerank) when a hybrid search of a collection of the
// default model names no rerank model. A vector search needs the input or a
// vector; keyword and hybrid search need the input. A hybrid search of a
// collection without an embedding model and without a vector is a
// keyword search. It returns the results and the tokens the models read.
func (s *Service) Search(ctx context.Context, ws, colID string, r SearchRequest) ([]ragd.SearchResult, Tokens, error) {
	q := r.Query
	if err := q.Validate(); err != nil {
		return nil, nil, err
	}
	textless := r.Vector != nil && q.Mode == ragd.ModeVector && (r.Rerank == nil || r.Rerank.Off())
	if strings.TrimSpace(r.Input) == "" && !textless {
		return nil, nil, ragd.Invalid("input", "input is required: the text to search for")
	}
	if r.Vector != nil && q.Mode == ragd.ModeKeyword {
		return nil, nil, ragd.Invalid("vector", "a keyword search takes no vector; use mode vector or hybrid")
	}
	var rk *reranking
	if r.Rerank != nil && !r.Rerank.Off() {
		if err := r.Rerank.Validate(r.Param, q.TopK, ragd.MaxTopK); err != nil {
			return nil, nil, err
		}
		rr, err := s.rerankers.Get(r.Param+".model", r.Rerank.Model)
		if err != nil {
			return nil, nil, err
		}
		q.TopK = *r.Rerank.Candidates
		rk = &reranking{model: rr, topN: *r.Rerank.TopN}
	}
	col, err := s.store.Collection(ctx, ws, colID)
	if err != nil {
		return nil, nil, err
	}
	q.Text = r.Input
	var tokens Tokens
	switch {
	case r.Vector != nil:
		if q.Vector, err = r.Vector.unit("vector", col); err != nil {
			return nil, nil, err
		}
	case col.EmbeddingModel == ragd.NoEmbeddingModel && q.Mode == ragd.ModeVector:
		return nil, nil, ragd.Invalid("vector", "vector is required: collection %s has no embedding model to embed the input with", col.ID)
	case col.EmbeddingModel == ragd.NoEmbeddingModel:
		q.Mode = ragd.ModeKeyword
	case q.Mode != ragd.ModeKeyword:
		emb, err := s.embedders.ForCollection(col)
		if err != nil {
			return nil, nil, err
		}
		vecs, err := emb.Embed(ctx, []string{r.Input})
		if err != nil {
			return nil, nil, err
		}
		q.Vector = vecs[0]
		tokens = tokens.Add(col.EmbeddingModel, CountTokens(r.Input))
	}
	if r.Rerank == nil && (q.Mode == ragd.ModeHybrid || q.Mode == "") && col.EmbeddingModel == embed.DefaultModelName {
		rk = s.defaultReranking(&q)
	}
	res, err := s.store.SearchCollection(ctx, col, q)
	if err != nil || rk == nil {
		return res, tokens, err
	}
	out, n, err := rk.apply(ctx, r.Input, res)
	switch {
	case !rk.byDefault:
		tokens = tokens.Add(rk.model.Name(), n)
	case err != nil && ctx.Err() == nil:
		s.log.Warn("the default rerank failed; the search answers in its own order", "model", rk.model.Name(), "error", err)
		return res[:min(len(res), rk.topN)], tokens, nil
	}
	return out, tokens, err
}

// defaultReranking returns the default rerank step of a search (see
// Config.DefaultRerank) and widens q to its candidates, keeping the
// first stage's pools those of the request's top_k; nil when there is
// none or its model is not available.
func (s *Service) defaultReranking(q *ragd.SearchQuery) *reranking {
	if s.defaultRerank == nil {
		return nil
	}
	rr, err := s.rerankers.Get("", s.defaultRerank.Model)
	if err != nil {
		return nil
	}
	rk := &reranking{model: rr, topN: q.TopK, byDefault: true}
	if c := s.defaultRerank.Candidates; c != nil {
		q.PoolTopK = q.TopK
		q.TopK = min(max(*c, q.TopK), ragd.MaxTopK)
	}
	return rk
}

// retriever searches the collections of one workspace for the RAG engine
// and reports the tokens each search used to count.
type retriever struct {
	s     *Service
	ws    string
	count func(Tokens)
}

// Retrieve implements rag.Retriever.
func (r retriever) Retrieve(ctx context.Context, collection, query string, o rag.RetrieveOptions) ([]ragd.SearchResult, error) {
	res, tokens, err := r.s.Search(ctx, r.ws, collection, SearchRequest{Input: query, Query: *o.Query(), Rerank: o.Rerank, Param: "retrieval.rerank"})
	r.count(tokens)
	return res, err
}

// Rerank scores docs against query with the rerank model named model. It
// returns the document indexes best first (ties keep their input order),
// the scores in input order and the tokens read: the query and what the
// model reads of every document (rerank.ExcerptOf), counted like
// embedding input.
func (s *Service) Rerank(ctx context.Context, model, query string, docs []string) (string, []int, []float64, int, error) {
	rr, err := s.rerankers.Get("model", model)
	if err != nil {
		return "", nil, nil, 0, err
	}
	scores, err := rr.Rerank(ctx, query, docs)
	if err != nil {
		return "", nil, nil, 0, err
	}
	return rr.Name(), byScore(scores), scores, readTokens(rr, query, docs), nil
}

// readTokens counts what rr reads: the query and its excerpt of each
// document (rerank.ExcerptOf).
func readTokens(rr rerank.Reranker, query string, docs []string) int {
	tokens := CountTokens(query)
	for _, d := range docs {
		tokens += CountTokens(rerank.ExcerptOf(rr, d))
	}
	return tokens
}

// byScore returns the indexes of scores, highest score first; ties keep
// their input order.
func byScore(scores []float64) []int {
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	return order
}

// blended returns (1-w) x each result's search score + w x its rerank
// score, both min-max normalised over res (see rerank.Blender).
func blended(res []ragd.SearchResult, scores []float64, w float64) []float64 {
	own := make([]float64, len(res))
	for i, r := range res {
		own[i] = r.Score
	}
	own, rr := minMax(own), minMax(scores)
	out := make([]float64, len(res))
	for i := range out {
		out[i] = (1-w)*own[i] + w*rr[i]
	}
	return out
}

// minMax maps xs onto 0..1 by their least and greatest values; all 1 when
// they are equal.
func minMax(xs []float64) []float64 {
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = 1
		if hi > lo {
			out[i] = (x - lo) / (hi - lo)
		}
	}
	return out
}

// reranking is the validated rerank step of one search: the model and
// how many results it keeps.
type reranking struct {
	model rerank.Reranker
	topN  int
	// byDefault marks the server's default rerank, which is part of the
	// search rather than a model the request asked for: its tokens are
	// not counted, and when it fails the search answers in its own order.
	byDefault bool
}

// apply reorders res (with their content) by the model's relevance to
// query, keeps the topN best with their rerank_score, and returns them
// with the tokens the model read (none counted for the default rerank).
func (rk *reranking) apply(ctx context.Context, query string, res []ragd.SearchResult) ([]ragd.SearchResult, int, error) {
	if len(res) == 0 {
		return res, 0, nil
	}
	docs := make([]string, len(res))
	for i, r := range res {
		docs[i] = r.Content
	}
	scores, err := rk.model.Rerank(ctx, query, docs)
	if err != nil {
		return nil, 0, err
	}
	if w := rerank.BlendOf(rk.model); w > 0 {
		scores = blended(res, scores, w)
	}
	out := make([]ragd.SearchResult, 0, min(rk.topN, len(res)))
	for _, idx := range byScore(scores)[:cap(out)] {
		r := res[idx]
		r.RerankScore = &scores[idx]
		out = append(out, r)
	}
	tokens := 0
	if !rk.byDefault {
		tokens = readTokens(rk.model, query, docs)
	}
	return out, tokens, nil
}
