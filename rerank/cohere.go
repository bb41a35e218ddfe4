package rerank

import "encoding/json"

// Cohere reranks through a Cohere-compatible POST {BaseURL}/rerank, as
// spoken by Cohere (base URL https://api.cohere.com/v1 or /v2), Jina,
// vLLM, Infinity and LocalAI. It is safe for concurrent use.
type Cohere struct{ *remote }

var _ Reranker = (*Cohere)(nil)

// DefaultCohereBatchSize is the most documents Cohere accepts in one
// request.
const DefaultCohereBatchSize = 1000

// NewCohere returns a Cohere-compatible reranker. An invalid configuration
// is an EINVALID error naming the field.
func NewCohere(cfg RemoteConfig) (*Cohere, error) {
	r, err := newRemote("cohere", cohereWire, cfg)
	if err != nil {
		return nil, err
	}
	return &Cohere{r}, nil
}

// cohereRequest names top_n explicitly: servers differ in their default.
type cohereRequest struct {
	Model     string   `json:"model"`
	Query     string   `json:"query"`
	Documents []string `json:"documents"`
	TopN      int      `json:"top_n"`
}

var cohereWire = wireFormat{
	path:      "/rerank",
	batchSize: DefaultCohereBatchSize,
	request: func(model, query string, batch []string) any {
		return cohereRequest{Model: model, Query: query, Documents: batch, TopN: len(batch)}
	},
	decode: func(body []byte) ([]scored, error) {
		var resp struct {
			Results []struct {
				Index          *int     `json:"index"`
				RelevanceScore *float64 `json:"relevance_score"`
			} `json:"results"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			return nil, err
		}
		out := make([]scored, len(resp.Results))
		for i, r := range resp.Results {
			out[i] = scored{r.Index, r.RelevanceScore}
		}
		return out, nil
	},
}
