package rerank

import "encoding/json"

// TEI reranks through Hugging Face text-embeddings-inference's POST
// {BaseURL}/rerank, serving one cross-encoder model. Scores are TEI's
// default, sigmoid-normalised (0..1). It is safe for concurrent use.
type TEI struct{ *remote }

var _ Reranker = (*TEI)(nil)

// DefaultTEIBatchSize is TEI's default --max-client-batch-size: a larger
// request is refused with 413.
const DefaultTEIBatchSize = 32

// NewTEI returns a TEI reranker; BaseURL is the server root, e.g.
// http://127.0.0.1:8082. An invalid configuration is an EINVALID error
// naming the field.
func NewTEI(cfg RemoteConfig) (*TEI, error) {
	r, err := newRemote("tei", teiWire, cfg)
	if err != nil {
		return nil, err
	}
	return &TEI{r}, nil
}

// teiRequest asks for normalised scores and lets TEI truncate documents
// longer than the model's input instead of refusing the batch.
type teiRequest struct {
	Query     string   `json:"query"`
	Texts     []string `json:"texts"`
	RawScores bool     `json:"raw_scores"`
	Truncate  bool     `json:"truncate"`
}

var teiWire = wireFormat{
	path:      "/rerank",
	batchSize: DefaultTEIBatchSize,
	request: func(_, query string, batch []string) any {
		return teiRequest{Query: query, Texts: batch, RawScores: false, Truncate: true}
	},
	decode: func(body []byte) ([]scored, error) {
		var ranks []struct {
			Index *int     `json:"index"`
			Score *float64 `json:"score"`
		}
		if err := json.Unmarshal(body, &ranks); err != nil {
			return nil, err
		}
		out := make([]scored, len(ranks))
		for i, r := range ranks {
			out[i] = scored{r.Index, r.Score}
		}
		return out, nil
	},
}
