package service

import (
	"context"

	"github.com/ragd/ragd/rag"
)

// Respond answers a Responses API request of workspace ws: with a
// file_search tool it searches the tool's vector stores (collections of
// ws) for the last user message first, and the chat model answers from
// the results, citing them; without, the chat model answers the
// conversation. It returns the whole result, or for a streaming request
// the stream to relay. count receives the embedding tokens the search
// used. A vector store that is not one of ws's collections is ENOTFOUND.
func (s *Service) Respond(ctx context.Context, ws string, req *rag.ResponsesRequest, count func(Tokens)) (*rag.ResponseResult, *rag.ResponseStream, error) {
	var found []rag.FileSearchResult
	if t := req.FileSearch; t != nil {
		q := fileSearchQuery(t, req.Query())
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
			found[i] = rag.FileSearchResult{FileID: r.FileID, Filename: r.Filename, Score: r.Source.Score, Text: r.Source.Content,
				Attributes: r.Source.Metadata, Source: r.Source}
		}
	}
	if req.IsStream() {
		st, err := s.chat.RespondStream(ctx, req, found)
		return nil, st, err
	}
	res, err := s.chat.Respond(ctx, req, found)
	return res, nil, err
}

// fileSearchQuery returns the search of query a file_search tool asks
// for; SearchVectorStores checks its values, naming the tool's fields in
// errors, as in "tools[0].max_num_results".
func fileSearchQuery(t *rag.FileSearchTool, query string) VectorStoreQuery {
	return VectorStoreQuery{Queries: []string{query}, Param: t.Param + ".", MaxResults: t.MaxNumResults, Filters: t.Filters,
		Ranking: t.RankingOptions}
}
