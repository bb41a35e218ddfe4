package service

import (
	"context"
	"slices"
	"strings"

	"github.com/ragd/ragd"
)

// MaxVectorStoreResults is the largest max_num_results of a vector store
// search (OpenAI's limit).
const MaxVectorStoreResults = 50

// DefaultVectorStoreResults is max_num_results when a search sets none.
const DefaultVectorStoreResults = 10

// VectorStoreQuery is a search of vector stores (collections) in OpenAI's
// terms: /v1/vector_stores/{id}/search and the file_search tool of
// /v1/responses.
type VectorStoreQuery struct {
	// Queries are the query texts; each is searched and the results
	// merged, a chunk keeping its best score.
	Queries []string
	// MaxResults is how many results to return, 1..MaxVectorStoreResults
	// (0: DefaultVectorStoreResults).
	MaxResults int
	// Filter restricts the searched chunks by their attributes
	// (ragd.ParseOpenAIFilter).
	Filter *ragd.Filter
	// ScoreThreshold drops results scoring below it.
	ScoreThreshold *float64
	// Param prefixes the field names of errors ("" for the search route,
	// "tools[0]." for a tool).
	Param string
}

// VectorStoreResult is one passage a vector store search found.
type VectorStoreResult struct {
	// FileID is the ID the file is known by through the OpenAI API: the
	// /v1/files ID it was attached as, or its ragd file ID.
	FileID     string
	Filename   string
	Score      float64
	Attributes map[string]any
	Text       string
	// Source is the ragd search result the passage came from.
	Source ragd.SearchResult
}

// SearchVectorStores searches vector stores ids of workspace ws with q and
// returns the best results over all of them, best first, with the
// embedding tokens the queries used.
func (s *Service) SearchVectorStores(ctx context.Context, ws string, ids []string, q VectorStoreQuery) ([]VectorStoreResult, int, error) {
	if q.MaxResults == 0 {
		q.MaxResults = DefaultVectorStoreResults
	}
	if q.MaxResults < 1 || q.MaxResults > MaxVectorStoreResults {
		return nil, 0, ragd.Invalid(q.Param+"max_num_results", "max_num_results must be between 1 and %d, got %d", MaxVectorStoreResults, q.MaxResults)
	}
	if len(ids) == 0 {
		return nil, 0, ragd.Invalid(q.Param+"vector_store_ids", "name at least one vector store to search")
	}
	var queries []string
	for _, text := range q.Queries {
		if strings.TrimSpace(text) != "" {
			queries = append(queries, text)
		}
	}
	if len(queries) == 0 {
		return nil, 0, ragd.Invalid(q.Param+"query", "query is required: the text to search for")
	}
	best := map[string]VectorStoreResult{} // by chunk ID
	tokens := 0
	for _, id := range ids {
		if _, err := s.store.Collection(ctx, ws, id); err != nil {
			return nil, 0, err
		}
		for _, text := range queries {
			res, n, err := s.Search(ctx, ws, id, SearchRequest{Input: text, Query: ragd.SearchQuery{Mode: ragd.ModeHybrid,
				TopK: q.MaxResults, Filter: q.Filter, ScoreThreshold: q.ScoreThreshold}})
			tokens += n
			if err != nil {
				return nil, tokens, err
			}
			for _, r := range res {
				if old, ok := best[r.ID]; !ok || r.Score > old.Score {
					best[r.ID] = VectorStoreResult{Score: r.Score, Attributes: r.Metadata, Text: r.Content, Source: r}
				}
			}
		}
	}
	out := make([]VectorStoreResult, 0, len(best))
	for _, r := range best {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b VectorStoreResult) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Source.ID, b.Source.ID)
	})
	if len(out) > q.MaxResults {
		out = out[:q.MaxResults]
	}
	for i := range out {
		if f := out[i].Source.FileID; f != nil {
			out[i].FileID = *f
		}
		if f := out[i].Source.Filename; f != nil {
			out[i].Filename = *f
		}
	}
	return out, tokens, nil
}
