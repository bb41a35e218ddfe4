package rag

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/rerank"
	"github.com/ragd/ragd/tokenize"
)

// Retriever searches a collection for the passages relevant to a query.
type Retriever interface {
	// Retrieve returns up to opts.TopK chunks (opts.Rerank.TopN when
	// reranking), best first, with their content. It returns an ENOTFOUND
	// *ragd.Error when the collection does not exist (or belongs to
	// another workspace) or the rerank model is not configured, and an
	// EINVALID one for a bad filter or mode.
	Retrieve(ctx context.Context, collection, query string, opts RetrieveOptions) ([]ragd.SearchResult, error)
}

// RetrieveOptions are a RAG request's retrieval settings.
type RetrieveOptions struct {
	// TopK is the number of passages wanted, 1..100.
	TopK int `json:"top_k"`
	// Mode is ragd.ModeHybrid, ModeVector or ModeKeyword.
	Mode string `json:"mode"`
	// Filter restricts the searched chunks, when set.
	Filter *ragd.Filter `json:"filter"`
	// ScoreThreshold drops results scoring below it, when set.
	ScoreThreshold *float64 `json:"score_threshold"`
	// Alpha weighs the vector ranking in hybrid search, when set.
	Alpha *float64 `json:"alpha"`
	// Rerank, when set, reranks Rerank.Candidates results and keeps the
	// Rerank.TopN best (validated: defaults filled in).
	Rerank *rerank.Options `json:"rerank"`
}

// Query returns the search the options describe, for validation and for
// the retriever.
func (o RetrieveOptions) Query() *ragd.SearchQuery {
	return &ragd.SearchQuery{TopK: o.TopK, Mode: o.Mode, Filter: o.Filter, ScoreThreshold: o.ScoreThreshold, Alpha: o.Alpha}
}

// DefaultRetrieveTopK is the number of passages retrieved when a RAG
// request does not say.
const DefaultRetrieveTopK = 10

// RAGRequest is a RAG chat request: the seed's body (collection, model,
// messages, max_tokens, temperature, top_p, top_k, seed, stream) plus
// optional retrieval settings. Every other member is passed to the model
// unchanged, as for plain chat.
type RAGRequest struct {
	// Collection is the collection searched, as the client named it.
	Collection string
	// Retrieval are the retrieval settings, defaults filled in.
	Retrieval RetrieveOptions
	chat      *ChatRequest
	query     string
}

// ParseRAGRequest reads and validates a RAG request body. It returns an
// EINVALID *ragd.Error naming the bad field.
func ParseRAGRequest(body []byte) (*RAGRequest, error) {
	obj, err := parseObject(body, "the request body")
	if err != nil {
		return nil, err
	}
	r := &RAGRequest{Retrieval: RetrieveOptions{TopK: DefaultRetrieveTopK, Mode: ragd.ModeHybrid}}
	if err := obj.get("collection", &r.Collection); err != nil {
		return nil, err
	}
	if r.Collection == "" {
		return nil, ragd.Invalid("collection", "collection is required: the id or name of the collection to search")
	}
	if err := obj.get("retrieval", &r.Retrieval); err != nil {
		return nil, err
	}
	if err := r.Retrieval.Query().ValidateIn("retrieval."); err != nil {
		return nil, err
	}
	if r.Retrieval.Rerank != nil && !r.Retrieval.Rerank.Off() {
		if err := r.Retrieval.Rerank.Validate("retrieval.rerank", r.Retrieval.TopK, ragd.MaxTopK); err != nil {
			return nil, err
		}
	}
	var sampling struct {
		MaxTokens   *int     `json:"max_tokens"`
		Temperature *float64 `json:"temperature"`
		TopP        *float64 `json:"top_p"`
	}
	if err := json.Unmarshal(body, &sampling); err != nil {
		return nil, ragd.Invalid("", "max_tokens must be an integer and temperature, top_p numbers: %v", err)
	}
	if err := checkSampling("max_tokens", sampling.MaxTokens, sampling.Temperature, sampling.TopP); err != nil {
		return nil, err
	}
	obj.del("collection")
	obj.del("retrieval")
	r.chat = &ChatRequest{obj: obj, rag: true}
	if err := r.chat.validate(); err != nil {
		return nil, err
	}
	msgs, _ := r.chat.decodeMessages()
	if r.query = lastUserText(msgs); r.query == "" {
		return nil, ragd.Invalid("messages", "messages must end with a user message holding the question")
	}
	return r, nil
}

// checkSampling checks the ranges of a request's completion budget (named
// maxParam), temperature and top_p, each when set.
func checkSampling(maxParam string, maxTokens *int, temperature, topP *float64) error {
	switch {
	case maxTokens != nil && *maxTokens < 1:
		return ragd.Invalid(maxParam, "%s must be at least 1", maxParam)
	case temperature != nil && (*temperature < 0 || *temperature > 2):
		return ragd.Invalid("temperature", "temperature must be between 0 and 2")
	case topP != nil && (*topP < 0 || *topP > 1):
		return ragd.Invalid("top_p", "top_p must be between 0 and 1")
	}
	return nil
}

// Model returns the requested model, "" for the default.
func (r *RAGRequest) Model() string { return r.chat.Model() }

// IsStream reports whether the client asked for a streamed answer.
func (r *RAGRequest) IsStream() bool { return r.chat.IsStream() }

// Query returns the search query: the text of the last user message.
func (r *RAGRequest) Query() string { return r.query }

// Engine answers RAG requests: retrieve, pack the prompt, call the model.
type Engine struct {
	router    *Router
	retriever Retriever
	now       func() time.Time
}

// NewEngine returns an engine retrieving with retriever and answering
// through router.
func NewEngine(router *Router, retriever Retriever) *Engine {
	return &Engine{router: router, retriever: retriever, now: time.Now}
}

// Complete answers req whole: the response is the model's chat completion
// with a "sources" member listing the passages it was given.
func (e *Engine) Complete(ctx context.Context, req *RAGRequest) (*Result, error) {
	chat, t, err := e.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	res, err := e.router.Complete(ctx, chat)
	if err != nil {
		return nil, err
	}
	res.Response.obj.set("sources", chat.passages)
	res.Completion.Sources = chat.passages
	res.Timings.Retrieval, res.Timings.Assembly = t.Retrieval, t.Assembly
	return res, nil
}

// Stream starts a streamed answer to req: its first chunk carries
// "sources" (and an empty assistant delta), the model's chunks follow.
func (e *Engine) Stream(ctx context.Context, req *RAGRequest) (*ChatStream, error) {
	chat, t, err := e.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	s, err := e.router.Stream(ctx, chat)
	if err != nil {
		return nil, err
	}
	s.sources = chat.passages
	s.timings.Retrieval, s.timings.Assembly = t.Retrieval, t.Assembly
	first, _ := json.Marshal(map[string]any{
		"id": s.id, "object": "chat.completion.chunk", "created": s.created, "model": s.model,
		"choices": []map[string]any{{"index": 0, "delta": map[string]string{"role": "assistant", "content": ""}, "finish_reason": nil}},
		"sources": chat.passages,
	})
	s.pending = append(s.pending, first)
	return s, nil
}

// prepare retrieves the passages and builds the request sent to the model.
func (e *Engine) prepare(ctx context.Context, req *RAGRequest) (*ChatRequest, Timings, error) {
	var t Timings
	chain, err := e.router.chain(req.Model())
	if err != nil {
		return nil, t, err
	}
	start := e.now()
	results, err := e.retriever.Retrieve(ctx, req.Collection, req.query, req.Retrieval)
	if err != nil {
		return nil, t, err
	}
	t.Retrieval = e.now().Sub(start)
	start = e.now()
	chat, err := assemble(chain, req, results)
	t.Assembly = e.now().Sub(start)
	return chat, t, err
}

// assemble packs results into a system prompt that, with the conversation
// and max_tokens, fits the smallest context window of the model's chain,
// counted with the requested model's encoding.
func assemble(chain []*route, req *RAGRequest, results []ragd.SearchResult) (*ChatRequest, error) {
	info := chain[0].info
	window := info.ContextWindow
	for _, rt := range chain[1:] {
		window = min(window, rt.info.ContextWindow)
	}
	enc, err := tokenize.Get(info.Encoding)
	if err != nil {
		return nil, err
	}
	maxTokens, ok := req.chat.MaxTokens()
	if !ok {
		maxTokens = DefaultMaxTokens
	}
	msgs, _ := req.chat.decodeMessages()
	conversation := countMessages(enc, msgs)
	budget := window - maxTokens - conversation - systemMessageTokens(enc)
	p, ok := packPrompt(enc, results, budget)
	if !ok {
		return nil, &ragd.Error{Kind: ragd.EINVALID, Code: "context_length_exceeded", Param: "messages",
			Message: fmt.Sprintf("the conversation (%d tokens) plus max_tokens (%d) leaves no room for sources in the %d-token context window of model %q; shorten the conversation or lower max_tokens",
				conversation, maxTokens, window, info.ID)}
	}
	system, _ := json.Marshal(map[string]string{"role": "system", "content": p.text})
	out := &ChatRequest{obj: req.chat.obj.clone(), passages: p.used, rag: true}
	out.obj.set("messages", append([]json.RawMessage{system}, req.chat.Messages()...))
	return out, nil
}
