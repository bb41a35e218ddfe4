package service

import (
	"context"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/rag"
)

// Respond answers a Responses API request of workspace ws: with a
// file_search tool it searches the tool's vector stores (collections of
// ws) for the last user message first, and the chat model answers from
// the results, citing them; without, the chat model answers the
// conversation. It returns the whole result, or for a streaming request
// the stream to relay. count receives the embedding tokens the search
// used. A vector store that is not one of ws's collections is ENOTFOUND.
func (s *Service) Respond(ctx context.Context, ws string, req *rag.ResponsesRequest, count func(tokens int)) (*rag.ResponseResult, *rag.ResponseStream, error) {
	var found []rag.FileSearchResult
	if t := req.FileSearch; t != nil {
		q, err := fileSearchQuery(t, req.Query())
		if err != nil {
			return nil, nil, err
		}
		// An unknown model fails before the search costs anything.
		if _, err := s.chat.Model(req.Model()); err != nil {
			return nil, nil, err
		}
		res, tokens, err := s.SearchVectorStores(ctx, ws, t.VectorStoreIDs, q)
		count(tokens)
		if err != nil {
			return nil, nil, err
		}
		found = make([]rag.FileSearchResult, len(res))
		for i, r := range res {
			found[i] = rag.FileSearchResult{FileID: r.FileID, Filename: r.Filename, Score: r.Score, Text: r.Text,
				Attributes: r.Attributes, Source: r.Source}
		}
	}
	if req.IsStream() {
		st, err := s.chat.RespondStream(ctx, req, found)
		return nil, st, err
	}
	res, err := s.chat.Respond(ctx, req, found)
	return res, nil, err
}

// rankers are the ranker values of a file_search tool's ranking_options.
// ragd has one ranking, its hybrid search, and uses it for each.
var rankers = map[string]bool{"": true, "auto": true, "none": true, "default-2024-11-15": true}

// fileSearchQuery checks the values of a file_search tool and returns the
// search of query it asks for; errors name the field, as in
// "tools[0].max_num_results".
func fileSearchQuery(t *rag.FileSearchTool, query string) (VectorStoreQuery, error) {
	p := t.Param + "."
	q := VectorStoreQuery{Queries: []string{query}, Param: p}
	if t.MaxNumResults != nil {
		if n := *t.MaxNumResults; n < 1 || n > MaxVectorStoreResults {
			return q, ragd.Invalid(p+"max_num_results", "max_num_results must be between 1 and %d, got %d", MaxVectorStoreResults, n)
		}
		q.MaxResults = *t.MaxNumResults
	}
	if len(t.VectorStoreIDs) == 0 {
		return q, ragd.Invalid(p+"vector_store_ids", "name at least one vector store to search")
	}
	filter, err := ragd.ParseOpenAIFilter(p+"filters", t.Filters)
	if err != nil {
		return q, err
	}
	q.Filter = filter
	if o := t.RankingOptions; o != nil {
		if !rankers[o.Ranker] {
			return q, ragd.Invalid(p+"ranking_options.ranker", `ranker must be "auto", "none" or "default-2024-11-15", got %q`, o.Ranker)
		}
		if th := o.ScoreThreshold; th != nil && (*th < 0 || *th > 1) {
			return q, ragd.Invalid(p+"ranking_options.score_threshold", "score_threshold must be between 0 and 1")
		}
		q.ScoreThreshold = o.ScoreThreshold
	}
	return q, nil
}
